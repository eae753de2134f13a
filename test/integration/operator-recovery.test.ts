/**
 * The operator survives an apiserver restart without a process restart: its
 * watches relist and resume, and a shard created after the restart converges.
 * Uses a control plane of its own, since it restarts the apiserver.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { McpShard } from "../../src/api/index.ts";
import type { KubeClient, KubeObject } from "../../src/kube/index.ts";
import { silentLogger } from "../../src/log.ts";
import { operatorConfigSchema, startOperator, type RunningOperator } from "../../src/operator/index.ts";
import { startControlPlane, waitFor, type ControlPlane } from "../harness/index.ts";
import {
  adminClient,
  installCrds,
  RESOURCES,
  shardManifest,
  startLoopbackMcp,
  type LoopbackMcp,
} from "./operator-support.ts";

let cp: ControlPlane;
let operator: RunningOperator;
let admin: KubeClient;
let mcp: LoopbackMcp;

beforeAll(async () => {
  mcp = await startLoopbackMcp();
  cp = await startControlPlane({ controllerManager: false });
  await installCrds(cp.kubeconfigPath);
  admin = adminClient(cp.kubeconfigPath);
  const config = operatorConfigSchema.parse({
    kubeconfig: cp.kubeconfigPath,
    namespaces: "default",
    metricsHost: "127.0.0.1",
    metricsPort: "0",
    leaderElect: "false",
  });
  operator = await startOperator(config, silentLogger());
});

afterAll(async () => {
  await operator?.stop();
  await admin?.close();
  await cp?.stop();
  await mcp?.close();
});

async function ready(name: string): Promise<McpShard> {
  return waitFor(
    async () => {
      const s = await admin.get<McpShard & KubeObject>(RESOURCES.mcpShard, "default", name);
      return s.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? s : undefined;
    },
    { timeoutMs: 60_000, message: `shard ${name} never became Ready` },
  );
}

describe("apiserver restart", () => {
  it("resumes watching and converges shards created after the restart", async () => {
    await admin.apply(RESOURCES.mcpShard, shardManifest("default", "before", { url: mcp.url }), {
      fieldManager: "shardgate-test",
    });
    await ready("before");

    await cp.restartApiserver();
    await admin.apply(RESOURCES.mcpShard, shardManifest("default", "after", { url: mcp.url }), {
      fieldManager: "shardgate-test",
    });
    const after = await ready("after");
    expect(after.status?.toolCount).toBe(2);

    const metrics = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /shardgate_operator_watch_restarts_total\{resource="mcpshards",reason="disconnected"\} [1-9]/,
    );
  });
});
