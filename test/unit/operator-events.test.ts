/**
 * The operator's event lane against a loopback HTTP server standing in for
 * the apiserver's events endpoint (in-process; the events a real apiserver
 * stores are checked in test/integration/operator.test.ts): a few writes at
 * once, a newer event replaces a waiting one of the same shard and reason,
 * and close() drops what still waits.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { McpShard } from "../../src/api/index.ts";
import { KubeClient } from "../../src/kube/index.ts";
import { silentLogger } from "../../src/log.ts";
import { kubeEventRecorder, type EventRecorder } from "../../src/operator/events.ts";
import { listenLoopback } from "../harness/net.ts";

let server: Server | undefined;
let client: KubeClient | undefined;
let recorder: EventRecorder | undefined;

afterEach(async () => {
  await recorder?.close?.();
  await client?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = client = recorder = undefined;
});

interface Received {
  readonly reason: string;
  readonly note: string;
  readonly shard: string;
}

/** A server that holds every event create until `release()`; records what arrives and the peak in flight. */
async function start(): Promise<{ received: Received[]; peak: () => number; release: () => void }> {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  let inFlight = 0;
  let peak = 0;
  let released = false;
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const event = JSON.parse(body) as { reason: string; note: string; regarding: { name: string } };
      received.push({ reason: event.reason, note: event.note, shard: event.regarding.name });
      inFlight++;
      peak = Math.max(peak, inFlight);
      res.on("finish", () => inFlight--);
      if (released) answer(res, body);
      else held.push(Object.assign(res, { body }));
    });
  });
  const answer = (res: ServerResponse, body: string) => {
    res.writeHead(201, { "content-type": "application/json" });
    res.end(body);
  };
  const port = await listenLoopback(server);
  client = new KubeClient({
    server: `http://127.0.0.1:${port}`,
    tls: { rejectUnauthorized: true },
    headers: () => Promise.resolve({}),
  });
  recorder = kubeEventRecorder(client, "test", silentLogger());
  return {
    received,
    peak: () => peak,
    release: () => {
      released = true;
      for (const res of held.splice(0)) answer(res, (res as ServerResponse & { body: string }).body);
    },
  };
}

function shard(name: string): McpShard {
  return {
    apiVersion: "mcp.shardgate.dev/v1alpha1",
    kind: "McpShard",
    metadata: { name, namespace: "ns", uid: `uid-${name}` },
    spec: { url: "http://x", enabled: true, transport: "streamable-http", bareNames: false },
  } as McpShard;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never happened: ${what}`);
}

describe("event lane", () => {
  it("writes two at a time, in order, and a newer event replaces a waiting one of the same shard and reason", async () => {
    const { received, peak, release } = await start();
    for (const name of ["a", "b", "c"]) recorder!.record(shard(name), "Normal", "Verified", `${name} 1`);
    recorder!.record(shard("c"), "Normal", "Verified", "c 2"); // replaces "c 1", which waits
    recorder!.record(shard("c"), "Warning", "VerifyFailed", "c 3"); // another reason: kept
    await until(() => received.length === 2, "the first two");
    expect(peak()).toBe(2);
    release();
    await until(() => received.length === 4, "the rest");
    expect(received.map((r) => r.note)).toEqual(["a 1", "b 1", "c 2", "c 3"]);
    expect(peak()).toBe(2);
  });

  it("drops what still waits when closed", async () => {
    const { received, release } = await start();
    for (const name of ["a", "b", "c", "d"]) recorder!.record(shard(name), "Normal", "Verified", name);
    await until(() => received.length === 2, "the first two");
    const closing = recorder!.close!();
    release();
    await closing;
    expect(received.map((r) => r.note)).toEqual(["a", "b"]);
  });
});
