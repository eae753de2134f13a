/**
 * The shard kit serving both protocol eras on one /mcp, with real v2 SDK
 * clients: a 2026-07-28 client (stateless, multi-round-trip input) and a
 * 2025-11-25 client (initialize, sessions, server-to-client requests), against
 * one handler written once in the `inputRequired` style.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Client } from "@modelcontextprotocol/client";
import {
  acceptedContent,
  defineShard,
  inputRequired,
  prompt,
  resource,
  serveShard,
  tool,
  type ServedKitShard,
} from "../../src/shard-kit/index.ts";
import { connectV2, eraNegotiation, textOf, type Era } from "../support/mcp-v2.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";

const shard = defineShard({
  name: "eras",
  version: "1.0.0",
  tools: [
    tool({
      name: "greet",
      description: "Asks for a name (two rounds, sealed state between them), then greets",
      input: z.object({}),
      handler: async (_args, ctx) => {
        const state = ctx.input.state<{ round: number }>();
        if (!state) {
          return inputRequired({
            inputRequests: {
              who: inputRequired.elicit({
                message: "Name?",
                requestedSchema: {
                  type: "object",
                  properties: { name: { type: "string" } },
                  required: ["name"],
                },
              }),
            },
            requestState: await ctx.input.mintState({ round: 1 }),
          });
        }
        return `hello ${acceptedContent<{ name: string }>(ctx.input.responses, "who")?.name ?? "?"} (round ${state.round})`;
      },
    }),
  ],
  resources: [
    resource({ name: "watched", uri: "test://watched", subscribable: true, read: async () => "w" }),
    resource({
      name: "item",
      uri: "test://items/{id}",
      read: async ({ variables }) => ({ id: variables.id }),
    }),
  ],
  prompts: [
    prompt({
      name: "pick",
      args: z.object({ colour: z.string() }),
      complete: { colour: (typed) => ["red", "green", "grey"].filter((c) => c.startsWith(typed)) },
      render: ({ colour }) => `pick ${colour}`,
    }),
  ],
});

const { cleanup: cleanups } = cleanupAfterEach();

async function served(): Promise<ServedKitShard> {
  const s = await serveShard(shard, { host: "127.0.0.1", port: 0, gracePeriodMs: 100 });
  cleanups.push(() => s.close());
  return s;
}

async function connect(url: string, era: Era): Promise<Client> {
  const options = { capabilities: { elicitation: { form: {} } }, versionNegotiation: eraNegotiation(era) };
  const client = await connectV2(url, "eras-test", options, (c) =>
    c.setRequestHandler("elicitation/create", () => ({ action: "accept", content: { name: era } })),
  );
  cleanups.push(() => client.close());
  return client;
}

describe("shard kit, both protocol eras on one /mcp", () => {
  it("serves one input-required handler to a 2026-07-28 client and to a 2025 session", async () => {
    const { url } = await served();
    const modern = await connect(url, "modern");
    const legacy = await connect(url, "legacy");
    expect(modern.getProtocolEra()).toBe("modern");
    expect(legacy.getProtocolEra()).toBe("legacy");
    expect(textOf(await modern.callTool({ name: "greet", arguments: {} }))).toBe("hello modern (round 1)");
    expect(textOf(await legacy.callTool({ name: "greet", arguments: {} }))).toBe("hello legacy (round 1)");
  });

  it("refuses a tampered requestState with -32602 before the handler runs", async () => {
    const { url } = await served();
    const client = await connectV2(url, "eras-test", {
      capabilities: { elicitation: { form: {} } },
      versionNegotiation: { mode: { pin: "2026-07-28" } },
      inputRequired: { autoFulfill: false },
    });
    cleanups.push(() => client.close());
    const first = (await client.request(
      { method: "tools/call", params: { name: "greet", arguments: {} } },
      { allowInputRequired: true },
    )) as { requestState?: string };
    expect(typeof first.requestState).toBe("string");
    const tampered = `${first.requestState!.slice(0, -2)}xx`;
    await expect(
      client.request(
        {
          method: "tools/call",
          params: {
            name: "greet",
            arguments: {},
            inputResponses: { who: { action: "accept", content: { name: "x" } } },
            requestState: tampered,
          },
        },
        { allowInputRequired: true },
      ),
    ).rejects.toMatchObject({ code: -32602 });
  });

  it("sends resources/updated only to the 2025 sessions subscribed to that URI", async () => {
    const shardServed = await served();
    const subscribed = await connect(shardServed.url, "legacy");
    const other = await connect(shardServed.url, "legacy");
    const seen = { subscribed: [] as string[], other: [] as string[] };
    subscribed.setNotificationHandler("notifications/resources/updated", (n) => {
      seen.subscribed.push(n.params.uri);
    });
    other.setNotificationHandler("notifications/resources/updated", (n) => {
      seen.other.push(n.params.uri);
    });
    await subscribed.subscribeResource({ uri: "test://watched" });
    await expect(other.subscribeResource({ uri: "test://items/1" })).rejects.toThrow(
      /does not support subscriptions/,
    );
    // The standalone GET stream carries notifications outside a request; wait for it to be open.
    await expect
      .poll(async () => {
        shardServed.events.resourceUpdated("test://watched");
        await new Promise((resolve) => setTimeout(resolve, 20));
        return seen.subscribed.length;
      })
      .toBeGreaterThan(0);
    expect(seen.subscribed.every((uri) => uri === "test://watched")).toBe(true);
    expect(seen.other).toEqual([]);
  });

  it("reads template resources and completes prompt arguments, in both eras", async () => {
    const { url } = await served();
    for (const era of ["modern", "legacy"] as const) {
      const client = await connect(url, era);
      const templates = await client.listResourceTemplates();
      expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toEqual(["test://items/{id}"]);
      const read = await client.readResource({ uri: "test://items/42" });
      expect(JSON.parse((read.contents[0] as { text: string }).text)).toEqual({ id: "42" });
      const completion = await client.complete({
        ref: { type: "ref/prompt", name: "pick" },
        argument: { name: "colour", value: "gr" },
      });
      expect(completion.completion.values).toEqual(["green", "grey"]);
    }
  });
});
