import { describe, expect, it } from "vitest";
import { mcpShardSpec, type McpShard, type McpShardStatus } from "../../src/api/index.ts";
import { readyTransition } from "../../src/operator/events.ts";
import { nextStatus, shardStatusParts } from "../../src/operator/reconcile/index.ts";
import type { VerifyResult } from "../../src/operator/verify.ts";

function shard(spec: unknown, status?: McpShardStatus): McpShard {
  return {
    apiVersion: "mcp.shardgate.dev/v1alpha1",
    kind: "McpShard",
    metadata: { name: "s", namespace: "n", uid: "u-1", generation: 3 },
    spec: mcpShardSpec.parse(spec),
    ...(status ? { status } : {}),
  };
}

const managed = { container: { image: "example/mcp:1", replicas: 2 } };
const external = { url: "http://mcp.example:8080/mcp" };
const url = "http://s.n.svc.cluster.local:8080/mcp";
const ok: VerifyResult = {
  ok: true,
  serverName: "srv",
  serverVersion: "1.2",
  protocolVersion: "2025-06-18",
  tools: ["a", "b"],
};
const deployment = (ready: number, available: boolean, message = "Deployment has minimum availability.") => ({
  metadata: { generation: 1 },
  status: {
    observedGeneration: 1,
    readyReplicas: ready,
    conditions: [{ type: "Available", status: available ? "True" : "False", reason: "X", message }],
  },
});
const summary = (p: ReturnType<typeof shardStatusParts>) =>
  [p.ready, p.available, p.verified].map((c) => `${c?.type}=${c?.status}/${c?.reason}`);

describe("shard status (pure)", () => {
  it("a managed shard whose pods are not ready waits for them, repeating the Deployment's report", () => {
    const parts = shardStatusParts(shard(managed), {
      url,
      deployment: deployment(0, false, "quota exceeded"),
      result: ok,
    });
    expect(summary(parts)).toEqual([
      "Ready=False/PodsNotReady",
      "Available=False/PodsNotReady",
      "Verified=Unknown/WaitingForPods",
    ]);
    expect(parts.available?.message).toBe("0/2 pods ready: quota exceeded");
    expect(parts.replicas).toBe(0);
    // A verification result is ignored until the pods are available.
    expect(parts.result).toBeUndefined();
  });

  it("a managed shard with pods ready is Ready once verified, with the server in the message", () => {
    const parts = shardStatusParts(shard(managed), { url, deployment: deployment(2, true), result: ok });
    expect(summary(parts)).toEqual([
      "Ready=True/Ready",
      "Available=True/X",
      "Verified=True/HandshakeSucceeded",
    ]);
    expect(parts.ready.message).toBe(`serving MCP at ${url}`);
    expect(parts.verified?.message).toBe("MCP server srv 1.2 offers 2 tools");
    expect(parts.replicas).toBe(2);
  });

  it("a failed handshake makes Ready False with the verification's reason", () => {
    const failed: VerifyResult = { ok: false, reason: "Unreachable", message: "cannot connect" };
    const parts = shardStatusParts(shard(external), {
      url: external.url,
      deployment: undefined,
      result: failed,
    });
    expect(summary(parts)).toEqual([
      "Ready=False/Unreachable",
      "Available=True/External",
      "Verified=False/Unreachable",
    ]);
    expect(parts.replicas).toBeUndefined();
  });

  it("a disabled shard says so in every condition, whatever its pods do", () => {
    const parts = shardStatusParts(shard({ ...managed, enabled: false }), {
      url,
      deployment: deployment(2, true),
      result: ok,
    });
    expect(summary(parts)).toEqual([
      "Ready=False/Disabled",
      "Available=False/Disabled",
      "Verified=Unknown/Disabled",
    ]);
  });

  it("nextStatus writes server and tools, and nothing when a re-verification finds the same", () => {
    const s = shard(external);
    const parts = shardStatusParts(s, { url: external.url, deployment: undefined, result: ok });
    const first = nextStatus(undefined, parts, 3, new Date("2026-01-01T00:00:00.123Z"));
    expect(first).toMatchObject({
      observedGeneration: 3,
      url: external.url,
      server: { name: "srv", version: "1.2", protocolVersion: "2025-06-18" },
      toolCount: 2,
      tools: ["a", "b"],
      lastVerifiedTime: "2026-01-01T00:00:00Z",
    });
    expect(first?.conditions?.every((c) => c.lastTransitionTime === "2026-01-01T00:00:00Z")).toBe(true);
    expect(nextStatus(first, parts, 3, new Date("2026-01-01T01:00:00Z"))).toBeUndefined();
    // A new generation is a change; transition times stay where the status did not change.
    const second = nextStatus(first, parts, 4, new Date("2026-01-01T01:00:00Z"));
    expect(second?.observedGeneration).toBe(4);
    expect(second?.conditions?.[0]?.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
  });

  it("a failure known only as Ready keeps the other conditions as they were", () => {
    const previous = nextStatus(
      undefined,
      shardStatusParts(shard(external), { url: external.url, deployment: undefined, result: ok }),
      3,
      new Date(),
    );
    const next = nextStatus(
      previous,
      { ready: { type: "Ready", status: "False", reason: "InvalidSpec", message: "spec is invalid" } },
      3,
      new Date(),
    );
    expect(next?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual([
      "Ready=False",
      "Available=True",
      "Verified=True",
    ]);
    expect(next?.url).toBe(external.url);
  });
});

describe("events on Ready transitions", () => {
  const cond = (status: "True" | "False", reason: string, message = reason) => ({
    type: "Ready",
    status,
    reason,
    message,
    lastTransitionTime: "2026-01-01T00:00:00Z",
  });

  it("records a change of Ready, not a repeat, and not a new shard's starting pods", () => {
    expect(readyTransition(undefined, [cond("False", "PodsNotReady")])).toBeUndefined();
    expect(readyTransition([cond("False", "X")], [cond("False", "X", "other words")])).toBeUndefined();
    expect(readyTransition([cond("True", "Ready")], [cond("False", "Unreachable", "down")])).toEqual({
      type: "Warning",
      reason: "Unreachable",
      note: "down",
    });
    const verified = { ...cond("True", "HandshakeSucceeded", "3 tools"), type: "Verified" };
    expect(readyTransition(undefined, [cond("True", "Ready", "serving"), verified])).toEqual({
      type: "Normal",
      reason: "Ready",
      note: "serving: 3 tools",
    });
  });
});
