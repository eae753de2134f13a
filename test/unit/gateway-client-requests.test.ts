/**
 * A shard's request during a call (here sampling) goes to the calling client
 * on the call's SSE answer; the client's answer must come back to the replica
 * holding the call. Two replicas share a session secret: the answer POSTed to
 * the other one is refused with 409 naming session affinity, the same answer
 * to the right replica completes the call.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, startShard, type TestGateway, type TestShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import { postMcp } from "../support/mcp.ts";
import { messagesOf } from "../support/mcp-raw.ts";

const SECRET = "a-shared-session-secret-of-replicas";

const post = postMcp;

describe("a shard's request to the client across replicas", () => {
  let shard: TestShard;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    shard = await startShard({ name: "old", extraTools: ["ask_sampling"] });
    a = await startGateway({ old: { url: shard.url } }, { sessionSecret: SECRET });
    b = await startGateway({ old: { url: shard.url } }, { sessionSecret: SECRET });
    for (const g of [a, b])
      await eventually(() => g.gateway.catalogue.catalogue.toolsByName.has("old_ask_sampling"), "listed");
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await shard?.close();
  });

  it("refuses the answer at the other replica with 409 and completes the call at the right one", async () => {
    const init = await post(a.base, undefined, {
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: { sampling: {} },
        clientInfo: { name: "t", version: "1" },
      },
    });
    const session = init.headers.get("mcp-session-id")!;
    const call = await post(a.base, session, {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "old_ask_sampling", arguments: {} },
    });
    expect(call.headers.get("content-type")).toContain("text/event-stream");
    const stream = messagesOf(call);
    const request = (await stream.next()).value as { id: string; method: string };
    expect(request.method).toBe("sampling/createMessage");
    const answer = {
      jsonrpc: "2.0",
      id: request.id,
      result: { role: "assistant", content: { type: "text", text: "Paris" }, model: "m" },
    };
    const elsewhere = await post(b.base, session, answer);
    expect(elsewhere.status).toBe(409);
    expect(await elsewhere.text()).toContain("session affinity");
    expect((await post(a.base, session, answer)).status).toBe(202);
    const result = (await stream.next()).value as { id: number; result: { content: { text: string }[] } };
    expect(result.id).toBe(1);
    expect(result.result.content[0]!.text).toContain("Paris");
  });
});
