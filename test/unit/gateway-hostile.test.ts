/**
 * Issue 10, the gateway's blast radius: one caller's bad input or one bad
 * shard never hurts anyone else. Real MCP shards (the SDK's server, or raw
 * HTTP where a shard must misbehave), real SDK clients, the gateway on
 * loopback. What needs the gateway as its own process (its descriptors, its
 * log lines) is in test/process/gateway-hostile.test.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { KeyStore } from "../../src/gateway/index.ts";
import { connectStreamable, startGateway, startShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import type { TestGateway, TestShard } from "../support/gateway-fixtures.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { nestedJson, rawSession, startRawShard, type RawShard } from "./hostile-fixtures.ts";

const { cleanup, later } = cleanupAfterEach();

async function client(base: string, headers: Record<string, string> = {}): Promise<Client> {
  return later(await connectStreamable(base, headers));
}

/** A pino logger whose lines land in `lines` (what an operator's log would hold). */
function capturingLogger(lines: string[]) {
  return pino(
    { level: "debug" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
}

function toolCall(id: number, name: string, argumentsJson: string): string {
  return `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":${argumentsJson}}}`;
}

const text = (r: unknown) =>
  ((r as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text ?? "").join("");

describe("local errors are not transport failures", () => {
  it("fails only the attacker's call on arguments nested 20,000 deep; the victim on the same shard never notices", async () => {
    const lab = later(await startShard({ name: "lab" }));
    const gw = later(await startGateway({ lab: { url: lab.url } }));
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "lab's tools");
    const victim = await client(gw.base);
    const attacker = await rawSession(gw.base);

    let attacking = true;
    const attacks: { status: number; answer: unknown }[] = [];
    const attack = (async () => {
      for (let i = 1; attacking; i++) {
        attacks.push(
          await attacker.post(toolCall(i, "lab_echo", `{"text":"x","deep":${nestedJson(20_000)}}`)),
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const answers: string[] = [];
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      const r = await victim.callTool({ name: "lab_echo", arguments: { text: `v${answers.length}` } });
      answers.push(text(r));
    }
    attacking = false;
    await attack;

    expect(attacks.length).toBeGreaterThanOrEqual(10);
    for (const a of attacks) {
      expect(a.status).toBe(200);
      expect(a.answer).toMatchObject({
        error: { code: -32602, message: "arguments of lab_echo are nested deeper than 128 levels" },
      });
    }
    expect(answers.every((a, i) => a === `lab:v${i}`)).toBe(true);
    expect(gw.gateway.catalogue.upstream("default/lab")?.state).toBe("ready");
    expect(lab.calls.length).toBe(answers.length); // no deep call reached the shard
  });

  it("answers a result nested 200,000 deep with a clear error, not HTTP 500, and the shard stays up", async () => {
    const raw = later(
      await startRawShard({
        deep: { answer: () => ({ rawResult: `{"content":[],"structuredContent":${nestedJson(200_000)}}` }) },
        ok: { answer: () => ({ result: { content: [{ type: "text", text: "fine" }] } }) },
      }),
    );
    const gw = later(await startGateway({ raw: { url: raw.url } }));
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length === 2, "raw's tools");
    const session = await rawSession(gw.base);
    const deep = await session.post(toolCall(1, "raw_deep", "{}"));
    expect(deep.status).toBe(200);
    expect(deep.answer).toMatchObject({
      error: { code: -32013, message: "the shard's answer is nested deeper than 128 levels" },
    });
    const ok = await session.post(toolCall(2, "raw_ok", "{}"));
    expect(ok.answer).toMatchObject({ result: { content: [{ text: "fine" }] } });
    expect(gw.gateway.catalogue.upstream("default/raw")?.state).toBe("ready");
  });

  it("fails only the one call when the shard refuses a request with an HTTP error", async () => {
    const raw = later(
      await startRawShard({
        refuse: { answer: () => ({ status: 400 }) },
        ok: { answer: () => ({ result: { content: [{ type: "text", text: "fine" }] } }) },
      }),
    );
    const gw = later(await startGateway({ raw: { url: raw.url } }));
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length === 2, "raw's tools");
    const c = await client(gw.base);
    const calls = await Promise.allSettled([
      c.callTool({ name: "raw_refuse", arguments: {} }),
      c.callTool({ name: "raw_ok", arguments: {} }),
    ]);
    expect(calls[0]).toMatchObject({
      status: "rejected",
      reason: {
        code: -32013,
        message: expect.stringContaining("the shard refused the request (HTTP 400)") as unknown,
      },
    });
    expect(calls[1]).toMatchObject({ status: "fulfilled" });
    expect(text(await c.callTool({ name: "raw_ok", arguments: {} }))).toBe("fine");
    expect(gw.gateway.catalogue.upstream("default/raw")?.state).toBe("ready");
  });
});

describe("credentials", () => {
  it("re-initialises with the rotated secret when the shard answers 401 mid-session", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shardgate-rotate-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, "raw"));
    await writeFile(join(dir, "raw", "token"), "first-token-0123456789");
    let expected = "Bearer first-token-0123456789";
    const raw = later(
      await startRawShard(
        { ok: { answer: () => ({ result: { content: [{ type: "text", text: "fine" }] } }) } },
        { authorization: () => expected },
      ),
    );
    const gw = later(
      await startGateway(
        {
          raw: {
            url: raw.url,
            auth: { valuePrefix: "Bearer ", secretKeyRef: { name: "raw", key: "token" } },
          },
        },
        {},
        { secretsDir: dir },
      ),
    );
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length === 1, "raw's tools");
    const c = await client(gw.base);
    expect(text(await c.callTool({ name: "raw_ok", arguments: {} }))).toBe("fine");
    await writeFile(join(dir, "raw", "token"), "second-token-0123456789");
    expected = "Bearer second-token-0123456789";
    expect(text(await c.callTool({ name: "raw_ok", arguments: {} }))).toBe("fine");
  });
});

describe("one connection loss is one backoff step", () => {
  it("backs off once when the connection drops under 20 calls in flight", async () => {
    let hold = true;
    const raw: RawShard = later(
      await startRawShard({
        hold: { answer: () => (hold ? "hang" : { result: { content: [{ type: "text", text: "back" }] } }) },
      }),
    );
    const lines: string[] = [];
    const gw = later(
      await startGateway(
        { raw: { url: raw.url, policy: { maxConcurrentCalls: 64 } } },
        { logger: capturingLogger(lines), backoffInitialMs: 200, backoffMaxMs: 60_000 },
      ),
    );
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length === 1, "raw's tools");
    const c = await client(gw.base);
    const inFlight = Array.from({ length: 20 }, () => c.callTool({ name: "raw_hold", arguments: {} }));
    await eventually(() => raw.calls.get("hold") === 20, "20 calls at the shard");
    hold = false;
    raw.dropConnections();
    const settled = await Promise.allSettled(inFlight);
    expect(settled.every((s) => s.status === "rejected")).toBe(true);

    const downs = lines.map((l) => JSON.parse(l) as { msg: string; retryInMs?: number });
    const marked = downs.filter((l) => l.msg === "shard down");
    expect(marked).toHaveLength(1);
    expect(marked[0]?.retryInMs).toBeLessThanOrEqual(240); // the first step: 200 ms ± 20 %
    // …and the shard is back at that pace, not after 20 doublings.
    const back = await eventually(
      async () => text(await c.callTool({ name: "raw_hold", arguments: {} })).length > 0,
      "the shard back",
      10_000,
    );
    expect(back).toBe(true);
  });
});

describe("caps on batches and calls in flight", () => {
  let lab: TestShard;
  let gw: TestGateway;

  async function setup(options: Parameters<typeof startGateway>[1] = {}) {
    lab = later(await startShard({ name: "lab" }));
    gw = later(
      await startGateway({ lab: { url: lab.url, policy: { maxConcurrentCalls: 64 } } }, { ...options }),
    );
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "lab's tools");
  }

  it("refuses a 5,000-call batch with a clear error before any upstream work", async () => {
    await setup();
    const session = await rawSession(gw.base, {}, "2025-03-26");
    const batch = `[${Array.from({ length: 5000 }, (_, i) => toolCall(i, "lab_echo", '{"text":"x"}')).join(",")}]`;
    const res = await session.post(batch);
    expect(res.status).toBe(400);
    expect(res.answer).toMatchObject({
      error: {
        code: -32600,
        message: "Invalid Request: a batch of 5000 messages is over the limit of 64; send fewer per request",
      },
    });
    expect(lab.calls).toEqual([]);
    const small = await session.post(`[${toolCall(1, "lab_echo", '{"text":"y"}')}]`);
    expect(small.answer).toMatchObject([{ result: { content: [{ text: "lab:y" }] } }]);
  });

  it("refuses calls over the session's in-flight cap and lets the rest run", async () => {
    await setup({ maxInFlightPerSession: 4 });
    const session = await rawSession(gw.base, {}, "2025-03-26");
    const batch = `[${Array.from({ length: 10 }, (_, i) => toolCall(i, "lab_slow", '{"ms":200}')).join(",")}]`;
    const res = await session.post(batch);
    const answers = res.answer as { result?: unknown; error?: { code: number; message: string } }[];
    expect(answers.filter((a) => a.result)).toHaveLength(4);
    const refused = answers.filter((a) => a.error);
    expect(refused).toHaveLength(6);
    expect(refused[0]?.error).toEqual({
      code: -32015,
      message: "this session already has 4 calls in flight (limit 4); retry when some finish",
    });
    // Another session is not this one's neighbour.
    const other = await client(gw.base);
    expect(text(await other.callTool({ name: "lab_echo", arguments: { text: "free" } }))).toBe("lab:free");
  });

  it("refuses calls over the key's in-flight cap across its sessions", async () => {
    const keys = KeyStore.fromEntries([
      { id: "busy", key: "busy-key-0123456789" },
      { id: "calm", key: "calm-key-0123456789" },
    ]);
    await setup({ keys, maxInFlightPerKey: 3 });
    const busy = { authorization: "Bearer busy-key-0123456789" };
    const a = await client(gw.base, busy);
    const b = await client(gw.base, busy);
    const running = [
      a.callTool({ name: "lab_slow", arguments: { ms: 400 } }),
      a.callTool({ name: "lab_slow", arguments: { ms: 400 } }),
      b.callTool({ name: "lab_slow", arguments: { ms: 400 } }),
    ];
    await eventually(() => lab.calls.filter((c) => c === "slow").length === 3, "three slow calls running");
    await expect(b.callTool({ name: "lab_echo", arguments: { text: "4th" } })).rejects.toMatchObject({
      code: -32015,
      message: expect.stringContaining("key busy already has 3 calls in flight (limit 3)") as unknown,
    });
    const calm = await client(gw.base, { authorization: "Bearer calm-key-0123456789" });
    expect(text(await calm.callTool({ name: "lab_echo", arguments: { text: "ok" } }))).toBe("lab:ok");
    await Promise.all(running);
    expect(text(await b.callTool({ name: "lab_echo", arguments: { text: "later" } }))).toBe("lab:later");
  });
});

describe("schema patterns run in linear time", () => {
  it("does not let a pathological pattern delay a healthy call to another shard", async () => {
    const regex = later(
      await startRawShard({
        check: {
          inputSchema: { type: "object", properties: { s: { type: "string", pattern: "^(a+)+$" } } },
          answer: () => ({ result: { content: [{ type: "text", text: "matched" }] } }),
        },
      }),
    );
    const lab = later(await startShard({ name: "lab" }));
    const gw = later(await startGateway({ regex: { url: regex.url }, lab: { url: lab.url } }));
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 5, "both shards' tools");
    const c = await client(gw.base);
    // 40 "a"s and a "!": a backtracking engine tries ~2^40 splits (27 took the JS engine 43-55 s), so
    // with one the gateway's event loop would never come back within the test's timeout and both calls
    // below would hang. No clock is read: finishing at all is the proof.
    const evil = c.callTool({ name: "regex_check", arguments: { s: `${"a".repeat(40)}!` } });
    const healthy = c.callTool({ name: "lab_echo", arguments: { text: "hi" } });
    const [evilResult, healthyResult] = await Promise.all([evil, healthy]);
    expect(text(healthyResult)).toBe("lab:hi");
    expect(evilResult.isError).toBe(true);
    expect(text(evilResult)).toBe(
      'invalid arguments for tool regex_check: arguments.s must match pattern "^(a+)+$"',
    );
    expect(regex.calls.get("check")).toBeUndefined();
    expect(text(await c.callTool({ name: "regex_check", arguments: { s: "aaaa" } }))).toBe("matched");
  });
});

describe("what leaves the gateway", () => {
  it("keeps argument values that a shard's error echoes out of the activity log and the log lines", async () => {
    const raw = later(
      await startRawShard({
        fussy: {
          answer: (args) => ({ error: { code: -32602, message: `cannot use ${JSON.stringify(args)}` } }),
        },
      }),
    );
    const lines: string[] = [];
    const gw = later(await startGateway({ raw: { url: raw.url } }, { logger: capturingLogger(lines) }));
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length === 1, "raw's tools");
    const c = await client(gw.base);
    await expect(
      c.callTool({ name: "raw_fussy", arguments: { password: "hunter2-correct-horse", pin: 48213 } }),
    ).rejects.toMatchObject({ message: expect.stringContaining("hunter2-correct-horse") as unknown }); // the caller's own
    const activity = await (await fetch(`${gw.base}/api/activity`)).text();
    expect(activity).toContain('"argumentNames":["password","pin"]');
    expect(activity).toContain('cannot use {\\"password\\":\\"[argument]\\",\\"pin\\":[argument]}');
    expect(activity).not.toContain("hunter2");
    expect(activity).not.toContain("48213");
    const log = lines.join("");
    expect(log).toContain('"msg":"tool call"');
    expect(log).not.toContain("hunter2");
    expect(log).not.toContain("48213");
  });

  it("answers a hidden tool exactly as a missing one", async () => {
    const lab = later(await startShard({ name: "lab" }));
    const keys = KeyStore.fromEntries([{ id: "narrow", key: "narrow-key-0123456789", tools: ["lab_echo"] }]);
    const gw = later(await startGateway({ lab: { url: lab.url } }, { keys }));
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "lab's tools");
    const headers = { authorization: "Bearer narrow-key-0123456789" };
    const c = await client(gw.base, headers);
    const failure = async (name: string) => {
      const error = (await c.callTool({ name, arguments: {} }).catch((e: unknown) => e)) as {
        code: number;
        message: string;
      };
      const http = await fetch(`${gw.base}/tools/${name}`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: "{}",
      });
      return { code: error.code, message: error.message.replace(name, "<tool>"), http: http.status };
    };
    const hidden = await failure("lab_add");
    const missing = await failure("lab_nothing");
    expect(hidden).toEqual(missing);
    expect(hidden).toEqual({ code: -32602, message: "MCP error -32602: unknown tool: <tool>", http: 404 });
  });

  it("scans for well-known secret formats per shard: redact masks, block refuses, both counted and noted", async () => {
    // A GitHub token's shape (secretlint's rule), built here so no scanner flags this file.
    const token = ["ghp", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"].join("_");
    const leaky = {
      leak: {
        answer: () => ({ result: { content: [{ type: "text", text: `found ${token} in the config` }] } }),
      },
      quiet: { answer: () => ({ result: { content: [{ type: "text", text: "nothing to see" }] } }) },
    };
    const redacting = later(await startRawShard(leaky));
    const blocking = later(await startRawShard(leaky));
    const plain = later(await startRawShard(leaky));
    const gw = later(
      await startGateway({
        red: { url: redacting.url, policy: { secretScan: "redact" } },
        blk: { url: blocking.url, policy: { secretScan: "block" } },
        off: { url: plain.url },
      }),
    );
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length === 6, "the shards' tools");
    const c = await client(gw.base);
    expect(text(await c.callTool({ name: "red_leak", arguments: {} }))).toBe(
      "found [REDACTED] in the config",
    );
    await expect(c.callTool({ name: "blk_leak", arguments: {} })).rejects.toMatchObject({
      code: -32012,
      message: expect.stringContaining(
        "the result of tool blk_leak hold what looks like a secret (@secretlint/secretlint-rule-github)",
      ) as unknown,
    });
    // Arguments too: a blocking shard never sees them.
    await expect(c.callTool({ name: "blk_leak", arguments: { note: token } })).rejects.toMatchObject({
      message: expect.stringContaining(
        "the arguments of tool blk_leak hold what looks like a secret",
      ) as unknown,
    });
    expect(blocking.calls.get("leak")).toBe(1);
    expect(text(await c.callTool({ name: "off_leak", arguments: {} }))).toContain(token); // off: passed as is

    const blocked = (await gw.gateway.activity.query({ tool: "blk_leak" })).map((e) => e.error);
    expect(blocked).toHaveLength(2);
    for (const error of blocked) expect(error).toContain("spec.policy.secretScan blocks it");
    expect(text(await c.callTool({ name: "red_quiet", arguments: {} }))).toBe("nothing to see");
    // Every call's decision is in the activity log, and the admin API filters by it.
    await eventually(async () => (await gw.gateway.activity.query({})).length === 5, "5 activity entries");
    const decisions = (await gw.gateway.activity.query({})).map((e) => [e.tool, e.secretScan]).sort();
    expect(decisions).toEqual([
      ["blk_leak", "blocked"],
      ["blk_leak", "blocked"],
      ["off_leak", "off"],
      ["red_leak", "redacted"],
      ["red_quiet", "clean"],
    ]);
    const api = (await (await fetch(`${gw.base}/api/activity?secretScan=blocked`)).json()) as {
      entries: { tool: string; secretScan: string }[];
    };
    expect(api.entries.map((e) => [e.tool, e.secretScan])).toEqual([
      ["blk_leak", "blocked"],
      ["blk_leak", "blocked"],
    ]);
    const metrics = await (await fetch(`${gw.base}/metrics`)).text();
    expect(metrics).toContain(
      'shardgate_gateway_secret_findings_total{shard="default/red",direction="result",action="redacted"} 1',
    );
    expect(metrics).toContain(
      'shardgate_gateway_secret_findings_total{shard="default/blk",direction="arguments",action="blocked"} 1',
    );
  });
});
