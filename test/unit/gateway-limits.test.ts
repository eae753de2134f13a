/** The pure parts of the gateway's limits and masking (issue 10); their use is in gateway-hostile.test.ts. */
import { describe, expect, it } from "vitest";
import { batchTooLarge, exceedsDepth, InFlightLimits } from "../../src/gateway/limits/index.ts";
import { redactArgumentValues, SecretRedactor, headerSecrets } from "../../src/gateway/secrets/index.ts";

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
  return value;
}

describe("exceedsDepth", () => {
  it("counts objects and arrays alike, scalars as zero", () => {
    expect(exceedsDepth("text", 0)).toBe(false);
    expect(exceedsDepth({}, 0)).toBe(true);
    expect(exceedsDepth({}, 1)).toBe(false);
    expect(exceedsDepth(nested(128), 128)).toBe(false);
    expect(exceedsDepth(nested(129), 128)).toBe(true);
    expect(exceedsDepth({ shallow: 1, deep: nested(200) }, 128)).toBe(true);
  });

  it("walks 200,000 levels without recursion", () => {
    expect(exceedsDepth(nested(200_000), 128)).toBe(true);
  });
});

describe("InFlightLimits", () => {
  it("refuses over the key's and the session's caps and frees on release (once)", () => {
    const limits = new InFlightLimits({ perSession: 2, perKey: 3 });
    const a = limits.acquire("k", "s1");
    const b = limits.acquire("k", "s1");
    expect(() => limits.acquire("k", "s1")).toThrow("this session already has 2 calls in flight (limit 2)");
    const c = limits.acquire("k", "s2");
    expect(() => limits.acquire("k", "s3")).toThrow("key k already has 3 calls in flight (limit 3)");
    expect(() => limits.acquire("k", undefined)).toThrow(/key k/);
    a();
    a(); // a second release frees nothing more
    const d = limits.acquire("k", "s1");
    expect(() => limits.acquire("k", "s4")).toThrow(/key k/);
    for (const release of [b, c, d]) release();
    expect(() => limits.acquire("other", "s1")).not.toThrow();
  });
});

describe("batchTooLarge", () => {
  it("names the size and the limit", () => {
    expect(batchTooLarge(64, 64)).toBeUndefined();
    expect(batchTooLarge(65, 64)).toBe(
      "Invalid Request: a batch of 65 messages is over the limit of 64; send fewer per request",
    );
  });
});

describe("secret and argument masking", () => {
  it("masks every known secret exactly, longest first, and leaves other text alone", () => {
    const secrets = new SecretRedactor();
    secrets.set("auth a", headerSecrets({ authorization: "Bearer tok-1234567890" }));
    secrets.set("keys", ["short", "key.with+regex(chars)"]);
    expect(secrets.size).toBe(3); // "short" is too short to be a secret worth masking
    expect(secrets.redact("sent Bearer tok-1234567890, then tok-1234567890")).toBe(
      "sent [REDACTED], then [REDACTED]",
    );
    expect(secrets.redact("key.with+regex(chars) and keyXwith+regex(chars)")).toBe(
      "[REDACTED] and keyXwith+regex(chars)",
    );
    const clean = { content: [{ type: "text", text: "nothing here" }] };
    expect(secrets.redactDeep(clean)).toBe(clean);
    expect(secrets.redactDeep({ a: ["x tok-1234567890"] })).toEqual({ a: ["x [REDACTED]"] });
    secrets.set("auth a", []);
    expect(secrets.redact("tok-1234567890")).toBe("tok-1234567890");
  });

  it("masks argument values (strings and numbers of 3+ characters) in a stored error", () => {
    const text = 'bad {"user":"alice","pin":4821,"n":7,"nested":{"list":["secret-thing"]}}';
    expect(
      redactArgumentValues(text, { user: "alice", pin: 4821, n: 7, nested: { list: ["secret-thing"] } }),
    ).toBe('bad {"user":"[argument]","pin":[argument],"n":7,"nested":{"list":["[argument]"]}}');
  });
});
