/**
 * The gateway's per-call bookkeeping made cheap (issue 15) without losing
 * anything: the sampled "tool call" log line, the batched activity writes, the
 * classification of 2025-era requests without the SDK's classifier, when
 * the CLI bounds the gateway's heap, the per-call metrics, the check of a
 * client's message and the read of a shard's answer.
 */
import { Readable, Writable } from "node:stream";
import { classifyInboundRequest } from "@modelcontextprotocol/server";
import type { FastifyRequest } from "fastify";
import { pino } from "pino";
import { Counter, Histogram, Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ActivityLog, type NewActivityEntry } from "../../src/gateway/activity.ts";
import type { ActivityEntry, ActivityStore } from "../../src/gateway/activity-store/types.ts";
import { SqliteActivityStore } from "../../src/gateway/activity-store/sqlite.ts";
import { CallLog, type CallLine } from "../../src/gateway/call-log.ts";
import { CallToolResultSchema, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";
import { callToolResult, isPlainTextResult } from "../../src/gateway/upstream/call-result.ts";
import { HEAP_FLAGS, heapFlags, heapSizedAlready } from "../../src/gateway/heap.ts";
import { isModernRequest } from "../../src/gateway/mcp/modern.ts";
import { isPlainRequest, parseBody } from "../../src/gateway/mcp/messages.ts";
import { readBody } from "../../src/gateway/upstream/body.ts";
import { createMetrics, type CallOutcome } from "../../src/gateway/metrics.ts";

function capture(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(chunk.toString());
        done();
      },
    }),
  );
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const ok = (tool: string): CallLine => ({
  key: "anonymous",
  tool,
  shard: "s",
  durationMs: 1,
  outcome: "ok",
  argumentNames: ["text"],
});

afterEach(() => vi.useRealTimers());

describe("the per-call log line", () => {
  it("sampled: one line per tool a second with the count it stands for, every failure, every audit", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { logger, lines } = capture();
    const log = new CallLog(logger, "sampled", 1000);
    for (let i = 0; i < 100; i++) log.record(ok("a"));
    log.record(ok("b"));
    log.record({ ...ok("a"), outcome: "error", error: "boom" });
    log.record({ ...ok("a"), outcome: "tool_error" });
    log.record({ ...ok("a"), audit: true });
    vi.advanceTimersByTime(1000);
    log.record(ok("a"));
    const got = lines().map((l) => [
      (l.activity as CallLine).tool,
      (l.activity as CallLine).outcome,
      l.calls,
    ]);
    expect(got).toEqual([
      ["a", "ok", 1],
      ["b", "ok", 1],
      ["a", "error", undefined],
      ["a", "tool_error", undefined],
      ["a", "ok", undefined], // audited: always
      ["a", "ok", 100], // the 99 since the first line, and this one
    ]);
    expect(lines().every((l) => l.msg === "tool call")).toBe(true);
  });

  it("all: a line per call; errors: failed calls only", () => {
    const all = capture();
    const every = new CallLog(all.logger, "all");
    for (let i = 0; i < 5; i++) every.record(ok("a"));
    expect(all.lines()).toHaveLength(5);
    const errors = capture();
    const failed = new CallLog(errors.logger, "errors");
    for (let i = 0; i < 5; i++) failed.record(ok("a"));
    failed.record({ ...ok("a"), outcome: "error", error: "boom" });
    expect(errors.lines().map((l) => (l.activity as CallLine).outcome)).toEqual(["error"]);
  });
});

function entry(audit = false): NewActivityEntry {
  return {
    time: new Date().toISOString(),
    key: "k",
    tool: "t",
    shard: "s",
    durationMs: 1,
    outcome: "ok" as const,
    argumentNames: [],
    ...(audit ? { audit: true } : {}),
  };
}

/** A SQLite store that counts its write transactions. */
function countingStore(): { store: ActivityStore; inserts: number[] } {
  const inner = new SqliteActivityStore(":memory:");
  const inserts: number[] = [];
  const store: ActivityStore = Object.assign(Object.create(inner) as ActivityStore, {
    init: () => inner.init(),
    insert: (entries: readonly ActivityEntry[]) => {
      inserts.push(entries.length);
      return inner.insert(entries);
    },
    query: inner.query.bind(inner),
    get: inner.get.bind(inner),
    prune: inner.prune.bind(inner),
    close: () => inner.close(),
  });
  return { store, inserts };
}

describe("the activity log's writes", () => {
  it("batches ordinary entries, writes audit entries at once, and loses nothing to a read or a close", async () => {
    const { store, inserts } = countingStore();
    const log = new ActivityLog({ store, flushDelayMs: 20 });
    await log.start();
    for (let i = 0; i < 100; i++) log.add(entry());
    expect(inserts).toEqual([]); // none yet: they wait for the batch
    await new Promise((r) => setTimeout(r, 60));
    expect(inserts).toEqual([100]); // one transaction for all

    await log.addDurably(entry(true)); // resolves only once stored
    expect(inserts).toEqual([100, 1]);

    log.add(entry());
    expect(await log.query({ limit: 1000 })).toHaveLength(102); // a read writes what is queued first
    log.add(entry());
    await log.close();
    expect(inserts.reduce((a, b) => a + b, 0)).toBe(103);
  });
});

describe("which era a POST /mcp is", () => {
  const request = (headers: Record<string, string>, method = "POST") =>
    ({ method, headers }) as unknown as FastifyRequest;
  const bodies: [string, Record<string, string>, unknown][] = [
    [
      "2025 call",
      { "mcp-protocol-version": "2025-11-25" },
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x" } },
    ],
    ["no header", {}, { jsonrpc: "2.0", id: "a", method: "tools/list" }],
    [
      "2025 _meta",
      { "mcp-protocol-version": "2025-06-18" },
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: { _meta: { progressToken: 1 } } },
    ],
    [
      "claim in _meta",
      { "mcp-protocol-version": "2025-11-25" },
      {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/list",
        params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } },
      },
    ],
    [
      "modern header",
      { "mcp-protocol-version": "2026-07-28" },
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
    ],
    [
      "padded header",
      { "mcp-protocol-version": " 2026-07-28" },
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
    ],
    [
      "initialize",
      {},
      { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25" } },
    ],
    ["notification", {}, { jsonrpc: "2.0", method: "notifications/initialized" }],
    ["batch", {}, [{ jsonrpc: "2.0", id: 1, method: "tools/list" }]],
    ["not JSON-RPC", {}, { hello: 1 }],
  ];
  it.each(bodies)("%s: the same answer as the SDK's classifier", (_name, headers, body) => {
    const sdk = classifyInboundRequest({
      httpMethod: "POST",
      protocolVersionHeader: headers["mcp-protocol-version"],
      mcpMethodHeader: headers["mcp-method"],
      body,
    });
    expect(isModernRequest(request(headers), body)).toBe(sdk.kind !== "legacy");
  });
});

describe("the gateway's heap sizing", () => {
  it("re-executes with its flags only when nobody sized the heap", () => {
    expect(heapSizedAlready([], "")).toBe(false);
    expect(heapSizedAlready(["--enable-source-maps"], "--no-warnings")).toBe(false);
    expect(heapSizedAlready([...HEAP_FLAGS], "")).toBe(true); // after our own exec
    expect(heapSizedAlready(["--max_semi_space_size=32"], "")).toBe(true);
    expect(heapSizedAlready([], "--max-semi-space-size=64 --max-old-space-size=512")).toBe(true);
    expect(heapSizedAlready([], "--heap-growing-percent=100")).toBe(true);
    expect(heapFlags(undefined)).toEqual(HEAP_FLAGS);
    expect(heapFlags("default")).toEqual([]);
    expect(heapFlags("8/50")).toEqual(["--max-semi-space-size=8", "--heap-growing-percent=50"]);
    expect(() => heapFlags("big")).toThrow(/SHARDGATE_GATEWAY_HEAP must be/);
  });
});

describe("a shard's tools/call result, checked once and cheaply", () => {
  const results: [string, unknown, boolean][] = [
    ["text", { content: [{ type: "text", text: "hi" }] }, true],
    ["error", { content: [{ type: "text", text: "no" }], isError: true }, true],
    ["structured", { content: [], structuredContent: { sum: 3 } }, true],
    ["extra key", { content: [{ type: "text", text: "hi" }], ttlMs: 0 }, true],
    ["annotations", { content: [{ type: "text", text: "hi", annotations: { priority: 1 } }] }, false],
    ["image", { content: [{ type: "image", data: "AAAA", mimeType: "image/png" }] }, false],
    ["_meta", { content: [], _meta: { a: 1 } }, false],
    ["no content", {}, false],
    ["bad text", { content: [{ type: "text", text: 3 }] }, false],
    ["bad isError", { content: [], isError: "yes" }, false],
  ];
  it.each(results)(
    "%s: shortcut %s, and always the SDK schema's verdict and value",
    (_name, value, short) => {
      expect(isPlainTextResult(value)).toBe(short);
      const sdk = CallToolResultSchema.safeParse(value);
      const ours = callToolResult.safeParse(value);
      expect(ours.success).toBe(sdk.success);
      if (sdk.success && ours.success) expect(ours.data).toEqual(sdk.data);
      if (sdk.success) expect(callToolResult.parse(value)).toEqual(sdk.data);
      else expect(() => callToolResult.parse(value)).toThrow();
    },
  );
});

describe("the per-call metrics, counted in plain numbers", () => {
  it("expose exactly what prom-client's Counter and Histogram would for the same calls", async () => {
    const ours = createMetrics();
    const reference = new Registry();
    const calls = new Counter({
      name: "shardgate_gateway_tool_calls_total",
      help: "Tool calls by shard, gateway tool name and outcome (ok, tool_error, error).",
      labelNames: ["shard", "tool", "outcome"],
      registers: [reference],
    });
    const duration = new Histogram({
      name: "shardgate_gateway_tool_call_duration_seconds",
      help: "Tool call latency through the gateway.",
      labelNames: ["shard", "tool"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers: [reference],
    });
    const seen: [string, string, CallOutcome, number][] = [
      ["ns/a", "a_x", "ok", 0.0004],
      ["ns/a", "a_x", "ok", 0.005], // on a bucket's bound
      ["ns/a", "a_x", "error", 70], // over the last bound
      ["b", "b_y", "tool_error", 0.02],
    ];
    for (const [shard, tool, outcome, seconds] of seen) {
      ours.toolCalls.record(shard, tool, outcome, seconds);
      calls.inc({ shard, tool, outcome });
      duration.observe({ shard, tool }, seconds);
    }
    const lines = (text: string) => text.split("\n").filter((l) => l.includes("_tool_call"));
    expect(lines(await ours.registry.metrics())).toEqual(lines(await reference.metrics()));
  });
});

describe("a client's JSON-RPC message, checked by property reads where it can be", () => {
  const bodies: [string, unknown, boolean][] = [
    ["request", { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "a", arguments: {} } }, true],
    ["string id, no params", { jsonrpc: "2.0", id: "x", method: "ping" }, true],
    [
      "_meta (progress token checked)",
      { jsonrpc: "2.0", id: 1, method: "m", params: { _meta: { progressToken: 1 } } },
      false,
    ],
    [
      "bad progress token",
      { jsonrpc: "2.0", id: 1, method: "m", params: { _meta: { progressToken: {} } } },
      false,
    ],
    ["fractional id", { jsonrpc: "2.0", id: 1.5, method: "m" }, false],
    ["extra key", { jsonrpc: "2.0", id: 1, method: "m", extra: 1 }, false],
    ["params array", { jsonrpc: "2.0", id: 1, method: "m", params: [1] }, false],
    ["notification", { jsonrpc: "2.0", method: "notifications/initialized" }, false],
    ["response", { jsonrpc: "2.0", id: 1, result: {} }, false],
    ["jsonrpc 1.0", { jsonrpc: "1.0", id: 1, method: "m" }, false],
  ];
  it.each(bodies)("%s: shortcut %s, and always the SDK schema's verdict and value", (_name, body, short) => {
    expect(isPlainRequest(body)).toBe(short);
    const sdk = JSONRPCMessageSchema.safeParse(body);
    const ours = parseBody(JSON.stringify(body));
    expect(ours.ok).toBe(sdk.success);
    if (ours.ok && sdk.success) expect(ours.messages).toEqual([sdk.data]);
  });
});

describe("a shard's response body, read whole under its limit", () => {
  it("gives the bytes, refuses (and destroys) an oversize body, and fails on a cut one", async () => {
    const bytes = await readBody(Readable.from([Buffer.from("ab"), Buffer.from("cd")]), 4);
    expect(bytes?.toString()).toBe("abcd");
    const big = Readable.from([Buffer.from("abc"), Buffer.from("de")]);
    expect(await readBody(big, 4)).toBeUndefined();
    expect(big.destroyed).toBe(true);
    const broken = new Readable({ read() {} });
    const reading = readBody(broken, 100);
    broken.push("a");
    broken.destroy(new Error("socket hang up"));
    await expect(reading).rejects.toThrow("socket hang up");
    const cut = new Readable({ read() {} });
    const cutReading = readBody(cut, 100);
    cut.destroy();
    await expect(cutReading).rejects.toThrow("closed before its end");
  });
});
