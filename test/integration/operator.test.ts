/**
 * The operator against the real control plane (etcd, kube-apiserver,
 * kube-controller-manager), running as a user that has exactly the ClusterRole
 * of deploy/rbac, watching only this file's namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { McpShard } from "../../src/api/index.ts";
import { isNotFound, type KubeClient, type KubeObject } from "../../src/kube/index.ts";
import type { RunningOperator } from "../../src/operator/index.ts";
import { auditEvents, kubeconfigPath, useNamespace, waitFor } from "../harness/index.ts";
import {
  adminClient,
  RESOURCES,
  shardManifest,
  startLoopbackMcp,
  startOperatorAs,
} from "./operator-support.ts";
import type { LoopbackMcp } from "./operator-support.ts";

const ns = useNamespace("operator");
const user = `shardgate-operator-${Math.random().toString(36).slice(2, 8)}`;
let operator: RunningOperator;
let admin: KubeClient;
let mcp: LoopbackMcp;

type Pod = {
  spec: {
    automountServiceAccountToken?: boolean;
    securityContext: Record<string, unknown>;
    containers: Array<{ args?: string[]; command?: string[]; securityContext: Record<string, unknown> }>;
  };
};

beforeAll(async () => {
  mcp = await startLoopbackMcp();
  admin = adminClient(kubeconfigPath());
  operator = await startOperatorAs(user, ns.name, { verifyInterval: "2", resync: "3" });
});

afterAll(async () => {
  await operator?.stop();
  await admin?.close();
  await mcp?.close();
});

async function shard(name: string): Promise<McpShard> {
  return admin.get<McpShard & KubeObject>(RESOURCES.mcpShard, ns.name, name);
}

function condition(s: McpShard, type: string) {
  return s.status?.conditions?.find((c) => c.type === type);
}

async function create(name: string, spec: Record<string, unknown>): Promise<void> {
  await admin.apply(RESOURCES.mcpShard, shardManifest(ns.name, name, spec), {
    fieldManager: "shardgate-test",
  });
}

interface ShardEvent extends KubeObject {
  type: string;
  reason: string;
  note?: string;
  reportingController?: string;
  regarding?: { apiVersion?: string; kind?: string; name?: string; namespace?: string; uid?: string };
}

async function shardEvents(): Promise<ShardEvent[]> {
  const list = await admin.list<ShardEvent>(RESOURCES.event, { namespace: ns.name });
  return list.items.filter((e) => e.regarding?.kind === "McpShard");
}

async function writesByOperator(since: number): Promise<string[]> {
  return (await auditEvents())
    .filter((e) => e.user.username === user && Date.parse(e.requestReceivedTimestamp) >= since)
    .filter((e) => e.objectRef?.resource !== "leases")
    .map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name} ${e.objectRef?.subresource ?? ""}`);
}

describe("operator", () => {
  it("deploys a managed shard as Deployment, Service and NetworkPolicy with owner references and secure pods", async () => {
    await create("web", { container: { image: "ghcr.io/example/mcp:1", port: 3000 } });
    const owner = await shard("web");
    const [deployment, service, policy] = await waitFor(async () =>
      Promise.all([
        admin.get(RESOURCES.deployment, ns.name, "web"),
        admin.get(RESOURCES.service, ns.name, "web"),
        admin.get(RESOURCES.networkPolicy, ns.name, "web"),
      ]),
    );
    // One pod: a headless Service (no ClusterIP to allocate); the URL names the pod's own port.
    expect(service.spec).toMatchObject({
      clusterIP: "None",
      ports: [expect.objectContaining({ port: 3000 })],
    });
    for (const child of [deployment, service, policy]) {
      expect(child.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: "McpShard", name: "web", uid: owner.metadata.uid, controller: true }),
      ]);
      expect(child.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("shardgate");
    }
    const pod = (deployment.spec as { template: Pod }).template;
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.spec.containers[0]!.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    const ingress = (policy.spec as { ingress: Array<{ from: Array<{ podSelector: unknown }> }> }).ingress;
    expect(ingress[0]!.from[0]!.podSelector).toEqual({
      matchLabels: { "app.kubernetes.io/component": "gateway", "app.kubernetes.io/part-of": "shardgate" },
    });
    // No kubelet runs pods here: the shard is honestly not available.
    const status = await waitFor(async () => {
      const s = await shard("web");
      return condition(s, "Available") ? s : undefined;
    });
    expect(status.status?.url).toBe(`http://web.${ns.name}.svc.cluster.local:3000/mcp`);
    expect(condition(status, "Available")).toMatchObject({ status: "False", reason: "PodsNotReady" });
    expect(condition(status, "Ready")).toMatchObject({ status: "False", reason: "PodsNotReady" });
    expect(status.status?.observedGeneration).toBe(owner.metadata.generation);
  });

  it("runs a stdio shard through shardgate bridge in the shard image", async () => {
    await create("files", { stdio: { command: ["npx", "-y", "server-filesystem", "/data"] } });
    const deployment = await waitFor(() => admin.get(RESOURCES.deployment, ns.name, "files"));
    const container = (deployment.spec as { template: Pod }).template.spec.containers[0]!;
    expect(container.command).toEqual(["shardgate"]);
    expect(container.args).toEqual([
      "bridge",
      "--port",
      "8080",
      "--",
      "npx",
      "-y",
      "server-filesystem",
      "/data",
    ]);
  });

  it("verifies an external shard over MCP and records its tools", async () => {
    await create("ext", { url: mcp.url });
    const s = await waitFor(async () => {
      const got = await shard("ext");
      return condition(got, "Ready")?.status === "True" ? got : undefined;
    });
    expect(condition(s, "Verified")).toMatchObject({ status: "True", reason: "HandshakeSucceeded" });
    expect(s.status).toMatchObject({
      url: mcp.url,
      toolCount: 2,
      tools: ["echo", "add"],
      server: { name: "loopback-test", version: "1.2.3" },
    });
    expect(s.status?.server?.protocolVersion).toBeTruthy();
  });

  it("records a Kubernetes Event for a shard's Ready transition, about the shard", async () => {
    const owner = await shard("ext");
    const events = await waitFor(async () => {
      const found = (await shardEvents()).filter((e) => e.regarding?.name === "ext");
      return found.length > 0 ? found : undefined;
    });
    // One transition (to Ready=True), one Event.
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.regarding).toMatchObject({
      kind: "McpShard",
      name: "ext",
      namespace: ns.name,
      uid: owner.metadata.uid,
    });
    expect(event.type).toBe("Normal");
    expect(event.reason).toMatch(/^[A-Z][a-zA-Z]+$/);
    expect(event.reason).toBe("Ready");
    expect(event.reportingController).toBe("shardgate.dev/operator");
    expect(event.note).toBe(`serving MCP at ${mcp.url}: MCP server loopback-test 1.2.3 offers 2 tools`);
  });

  it("serves /healthz and /readyz: ready once leading with synced caches", async () => {
    await waitFor(() => operator.isLeader());
    const healthz = await fetch(`${operator.metricsUrl}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await healthz.json()).toEqual({ status: "ok" });
    // The leader has reconciled shards above, so its caches have synced.
    const readyz = await fetch(`${operator.metricsUrl}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toEqual({ status: "ok" });
    const metrics = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^shardgate_operator_leader 1$/m);
  });

  it("reports an unreachable shard as Verified=False with the reason", async () => {
    await create("gone", { url: "http://127.0.0.1:9/mcp" });
    const s = await waitFor(async () => {
      const got = await shard("gone");
      return condition(got, "Verified") ? got : undefined;
    });
    expect(condition(s, "Verified")).toMatchObject({ status: "False", reason: "Unreachable" });
    expect(condition(s, "Verified")?.message).toContain("127.0.0.1:9");
    expect(condition(s, "Ready")).toMatchObject({ status: "False", reason: "Unreachable" });
    const events = await waitFor(async () => {
      const found = (await shardEvents()).filter((e) => e.regarding?.name === "gone");
      return found.length > 0 ? found : undefined;
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: "Warning",
        reason: "Unreachable",
        note: expect.stringContaining("127.0.0.1:9"),
      }),
    ]);
  });

  it("corrects drift: a deleted Service returns, a hand-edited field is restored, a user's annotation stays", async () => {
    const before = await admin.get(RESOURCES.service, ns.name, "web");
    await admin.delete(RESOURCES.service, ns.name, "web");
    await waitFor(async () => {
      const svc = await admin.get(RESOURCES.service, ns.name, "web");
      return svc.metadata?.uid !== before.metadata?.uid;
    });
    await admin.mergePatch(RESOURCES.deployment, ns.name, "web", {
      metadata: { annotations: { "example.com/owner": "alice" } },
      spec: { replicas: 5 },
    });
    const restored = await waitFor(async () => {
      const d = await admin.get(RESOURCES.deployment, ns.name, "web");
      return (d.spec as { replicas: number }).replicas === 1 ? d : undefined;
    });
    expect(restored.metadata?.annotations?.["example.com/owner"]).toBe("alice");
  });

  it("replaces a shard's Service when its address kind must change: ClusterIP for several pods, headless for one", async () => {
    await create("scaled", { container: { image: "ghcr.io/example/mcp:1", port: 3000, replicas: 3 } });
    const serviceWith = (want: (clusterIP: unknown) => boolean) =>
      waitFor(async () => {
        const svc = await admin.get(RESOURCES.service, ns.name, "scaled").catch(() => undefined);
        const clusterIP = (svc?.spec as { clusterIP?: unknown } | undefined)?.clusterIP;
        return svc && want(clusterIP) ? svc : undefined;
      });
    const balanced = await serviceWith((ip) => typeof ip === "string" && /^10\./.test(ip));
    // Scaled to one: clusterIP is immutable, so the operator deletes and creates it again.
    await create("scaled", { container: { image: "ghcr.io/example/mcp:1", port: 3000, replicas: 1 } });
    const headless = await serviceWith((ip) => ip === "None");
    expect(headless.metadata?.uid).not.toBe(balanced.metadata?.uid);
    expect(headless.metadata?.ownerReferences).toEqual([expect.objectContaining({ name: "scaled" })]);
    // And back (a Service made before headless ones is replaced the same way).
    await create("scaled", { container: { image: "ghcr.io/example/mcp:1", port: 3000, replicas: 2 } });
    const again = await serviceWith((ip) => typeof ip === "string" && /^10\./.test(ip));
    expect(again.metadata?.uid).not.toBe(headless.metadata?.uid);
    const status = await shard("scaled");
    expect(status.status?.url).toBe(`http://scaled.${ns.name}.svc.cluster.local:3000/mcp`);
  });

  it("states quantities as the apiserver stores them: a shard with 0.5 CPU and 1Gi converges, then writes nothing", async () => {
    await create("sized", {
      container: {
        image: "ghcr.io/example/mcp:1",
        port: 3000,
        resources: { requests: { cpu: 0.5, memory: "1024Mi" }, limits: { cpu: "1000m", memory: "1.5Gi" } },
        volumes: [{ name: "cache", emptyDir: { sizeLimit: "0.5Gi" } }],
        volumeMounts: [
          { name: "cache", mountPath: "/cache" },
          { name: "cache", mountPath: "/var/cache", subPath: "var" },
        ],
      },
    });
    // Converged: the status is about this generation (written once the Deployment controller has looked).
    const converged = await waitFor(async () => {
      const s = await shard("sized");
      return s.status?.observedGeneration === s.metadata.generation && condition(s, "Available")
        ? s
        : undefined;
    });
    const deployment = await admin.get(RESOURCES.deployment, ns.name, "sized");
    const pod = (deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec as {
      containers: Array<{ resources: unknown }>;
      volumes: Array<{ name: string; emptyDir?: unknown }>;
    };
    expect(pod.containers[0]!.resources).toEqual({
      requests: { cpu: "500m", memory: "1Gi" },
      limits: { cpu: "1", memory: "1536Mi" },
    });
    expect(pod.volumes.find((v) => v.name === "cache")?.emptyDir).toEqual({ sizeLimit: "512Mi" });

    const since = Date.now();
    // Two resyncs (3 s each): each one reconciles the shard against what the apiserver stored.
    await new Promise((resolve) => setTimeout(resolve, 7000));
    expect((await writesByOperator(since)).filter((w) => w.includes("/sized"))).toEqual([]);
    expect((await shard("sized")).metadata.resourceVersion).toBe(converged.metadata.resourceVersion);
  });

  it("writes nothing at steady state, across resyncs, re-verifications and unrelated events", async () => {
    // Converged: every shard's status is about its current generation.
    await waitFor(async () => {
      const list = await admin.list<McpShard & KubeObject>(RESOURCES.mcpShard, { namespace: ns.name });
      return list.items.every((s) => s.status?.observedGeneration === s.metadata.generation);
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const eventsBefore = (await shardEvents()).map((e) => e.metadata?.name).sort();
    const since = Date.now();
    await admin.mergePatch(RESOURCES.mcpShard, ns.name, "ext", { metadata: { annotations: { note: "hi" } } });
    await admin.create(RESOURCES.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "unrelated", namespace: ns.name },
      data: { a: "b" },
    });
    // Longer than two resync periods (3 s) and several verify intervals (2 s).
    await new Promise((resolve) => setTimeout(resolve, 8000));
    expect(await writesByOperator(since)).toEqual([]);
    expect((await shardEvents()).map((e) => e.metadata?.name).sort()).toEqual(eventsBefore);
    const metrics = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/shardgate_operator_resyncs_total\{resource="mcpshards"\} [1-9]/);
    expect(metrics).toMatch(/shardgate_operator_reconciles_total\{result="success"\} [1-9]/);
  });

  it("scales a disabled shard to zero and says so", async () => {
    await create("web", { enabled: false, container: { image: "ghcr.io/example/mcp:1", port: 3000 } });
    await waitFor(async () => {
      const d = await admin.get(RESOURCES.deployment, ns.name, "web");
      return (d.spec as { replicas: number }).replicas === 0;
    });
    const s = await waitFor(async () => {
      const got = await shard("web");
      return condition(got, "Ready")?.reason === "Disabled" ? got : undefined;
    });
    expect(condition(s, "Ready")?.status).toBe("False");
  });

  it("leaves clean-up to the garbage collector: deleting the shard deletes its children", async () => {
    await admin.delete(RESOURCES.mcpShard, ns.name, "web");
    for (const type of [RESOURCES.deployment, RESOURCES.service, RESOURCES.networkPolicy]) {
      await waitFor(
        async () => {
          try {
            await admin.get(type, ns.name, "web");
            return false;
          } catch (error) {
            return isNotFound(error);
          }
        },
        { message: `${type.kind} web was not garbage-collected`, timeoutMs: 60_000 },
      );
    }
  });
});
