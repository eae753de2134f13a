/**
 * Pure pieces of the console and the activity store: cookie parsing, CSRF
 * tokens bound to a key and to the gateway's secret, the cookie's attributes,
 * and the activity store's query builder and stored-JSON cap.
 */
import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { MAX_STORED_JSON, storedJson, whereClause } from "../../src/gateway/activity-store/types.ts";
import { Gate, KeyStore } from "../../src/gateway/index.ts";
import { ConsoleAuth, cookieValue, KEY_COOKIE } from "../../src/gateway/ui/session.ts";

const KEY = "console-key-0123456789";
const keys = KeyStore.fromEntries([{ id: "ops", key: KEY, admin: true }]);

function request(method: string, headers: Record<string, string>): FastifyRequest {
  return { method, headers } as unknown as FastifyRequest;
}

describe("console sign-in", () => {
  const auth = new ConsoleAuth("s".repeat(32), new Gate({ keys }));
  const cookie = `other=1; ${KEY_COOKIE}=${encodeURIComponent(KEY)}`;

  it("reads the key cookie among others", () => {
    expect(cookieValue(cookie, KEY_COOKIE)).toBe(KEY);
    expect(cookieValue("a=b", KEY_COOKIE)).toBeUndefined();
    expect(cookieValue(`${KEY_COOKIE}=%E0%A4%A`, KEY_COOKIE)).toBeUndefined();
  });

  it("authenticates reads by cookie and requires the key's CSRF token for writes", () => {
    expect(auth.authenticate(request("GET", { cookie }))).toMatchObject({ ok: true, viaCookie: true });
    expect(auth.authenticate(request("PATCH", { cookie }))).toEqual({ ok: false, reason: "csrf" });
    const token = auth.csrfToken(KEY);
    expect(auth.authenticate(request("PATCH", { cookie, "x-csrf-token": token }))).toMatchObject({
      ok: true,
    });
    expect(
      auth.authenticate(request("POST", { cookie, "x-csrf-token": auth.csrfToken("other") })),
    ).toMatchObject({
      ok: false,
    });
    // Another gateway secret, another token: tokens cannot be minted without it.
    expect(new ConsoleAuth("t".repeat(32), new Gate({ keys })).csrfToken(KEY)).not.toBe(token);
    expect(auth.authenticate(request("GET", { cookie: `${KEY_COOKIE}=wrong-key-123` }))).toEqual({
      ok: false,
      reason: "unauthenticated",
    });
  });

  it("prefers the Authorization header, which needs no CSRF token", () => {
    expect(
      auth.authenticate(request("PATCH", { authorization: `Bearer ${KEY}`, cookie: "x=y" })),
    ).toMatchObject({
      ok: true,
      viaCookie: false,
    });
  });

  it("sets the cookie HttpOnly, SameSite=Strict, Secure over HTTPS only", () => {
    expect(auth.setCookie(KEY, false)).toBe(
      `${KEY_COOKIE}=${KEY}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200`,
    );
    expect(auth.setCookie(KEY, true)).toMatch(/; Secure$/);
    expect(auth.clearCookie()).toMatch(/Max-Age=0/);
  });
});

describe("activity store helpers", () => {
  it("builds one parameterised WHERE clause for both backends", () => {
    const q = { tool: "a", outcome: "ok" as const, since: "2026-01-01T00:00:00Z", tools: ["a", "b"] };
    const numbered = {
      placeholder: (i: number) => `$${i}`,
      timeValue: (iso: string) => iso,
      hasGroup: (m: string) => `G(${m})`,
    };
    const anonymous = { placeholder: () => "?", timeValue: Date.parse, hasGroup: (m: string) => `G(${m})` };
    expect(whereClause(q, numbered)).toEqual({
      sql: "WHERE tool = $1 AND outcome = $2 AND time >= $3 AND tool IN ($4, $5)",
      params: ["a", "ok", "2026-01-01T00:00:00Z", "a", "b"],
    });
    expect(whereClause({}, anonymous)).toEqual({ sql: "", params: [] });
    expect(whereClause({ tools: [] }, anonymous).sql).toBe("WHERE 1 = 0");
    expect(whereClause({ user: "al", group: "fam" }, numbered)).toEqual({
      sql: "WHERE (user_id = $1 OR user_email = $2) AND G($3)",
      params: ["al", "al", "fam"],
    });
  });

  it("caps stored arguments and results, saying so", () => {
    expect(storedJson(undefined)).toBeNull();
    expect(storedJson({ a: 1 })).toBe('{"a":1}');
    const big = JSON.parse(storedJson({ text: "x".repeat(MAX_STORED_JSON) })!);
    expect(big).toMatchObject({ truncated: true, bytes: MAX_STORED_JSON + 11 });
    expect(big.head.length).toBe(MAX_STORED_JSON);
  });
});
