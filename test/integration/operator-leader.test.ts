/**
 * Two `shardgate operator` processes share one Lease: only the leader writes;
 * when it is killed (no chance to release the lease) the other takes over
 * once the lease expires and reconciles new shards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { McpShard } from "../../src/api/index.ts";
import type { KubeClient, KubeObject } from "../../src/kube/index.ts";
import { auditEvents, kubeconfigPath, userKubeconfig, useNamespace, waitFor } from "../harness/index.ts";
import {
  adminClient,
  grantOperatorRbac,
  operatorCliArgs,
  RESOURCES,
  shardManifest,
  startLoopbackMcp,
} from "./operator-support.ts";
import type { LoopbackMcp } from "./operator-support.ts";

const ns = useNamespace("operator-leader");
const suffix = Math.random().toString(36).slice(2, 8);
const users = [`shardgate-op-a-${suffix}`, `shardgate-op-b-${suffix}`];
const children: ChildProcess[] = [];
let admin: KubeClient;
let mcp: LoopbackMcp;

async function spawnOperator(user: string): Promise<ChildProcess> {
  const kubeconfig = await userKubeconfig(user);
  const child = spawn(
    process.execPath,
    operatorCliArgs(kubeconfig, ns.name, [
      "--lease-duration",
      "3",
      "--renew-deadline",
      "2",
      "--retry-period",
      "0.5",
    ]),
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, LOG_LEVEL: "warn" } },
  );
  children.push(child);
  return child;
}

async function holder(): Promise<string | undefined> {
  const lease = await admin.get<KubeObject & { spec?: { holderIdentity?: string } }>(
    RESOURCES.lease,
    ns.name,
    "shardgate-operator",
  );
  return lease.spec?.holderIdentity || undefined;
}

async function readyShard(name: string): Promise<McpShard> {
  return waitFor(async () => {
    const s = await admin.get<McpShard & KubeObject>(RESOURCES.mcpShard, ns.name, name);
    return s.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? s : undefined;
  });
}

beforeAll(async () => {
  mcp = await startLoopbackMcp();
  admin = adminClient(kubeconfigPath());
  for (const user of users) await grantOperatorRbac(kubeconfigPath(), user);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await admin?.close();
  await mcp?.close();
});

describe("leader election", () => {
  it("only the leader writes; killing it hands over to the other replica", async () => {
    const a = await spawnOperator(users[0]!);
    const b = await spawnOperator(users[1]!);
    const leaderId = await waitFor(holder, { message: "nobody took the lease" });
    const leader = leaderId === `${hostname()}_${a.pid}` ? a : b;
    const follower = leader === a ? b : a;
    const [leaderUser, followerUser] = leader === a ? users : [users[1]!, users[0]!];
    expect([`${hostname()}_${a.pid}`, `${hostname()}_${b.pid}`]).toContain(leaderId);

    await admin.apply(RESOURCES.mcpShard, shardManifest(ns.name, "first", { url: mcp.url }), {
      fieldManager: "shardgate-test",
    });
    await readyShard("first");
    const writers = new Set(
      (await auditEvents())
        .filter((e) => e.objectRef?.namespace === ns.name && e.objectRef.resource !== "leases")
        .map((e) => e.user.username)
        .filter((u) => users.includes(u)),
    );
    expect([...writers]).toEqual([leaderUser]);

    leader.kill("SIGKILL");
    await waitFor(async () => (await holder()) === `${hostname()}_${follower.pid}`, {
      message: "the follower never took over the lease",
    });
    await admin.apply(RESOURCES.mcpShard, shardManifest(ns.name, "second", { url: mcp.url }), {
      fieldManager: "shardgate-test",
    });
    await readyShard("second");
    const secondWriters = (await auditEvents())
      .filter((e) => e.objectRef?.name === "second" && e.objectRef.subresource === "status")
      .map((e) => e.user.username);
    expect(new Set(secondWriters)).toEqual(new Set([followerUser]));
  });
});
