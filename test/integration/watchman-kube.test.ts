/**
 * Watchman's Kubernetes backend against the real apiserver and
 * controller-manager (no kubelet in this tier: pods stay unscheduled), as a
 * user holding exactly the generated Role: workloads resolve to their pods by
 * owner references alone (a real Deployment → ReplicaSet → pods chain, and a
 * Deployment whose name prefixes another's), the namespace list is enforced
 * before any request, and what the apiserver refuses arrives as a note.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient, loadKubeConfig, RESOURCES } from "../../src/kube/index.ts";
import {
  WatchmanNotFound,
  WatchmanRefusal,
  watchmanNamespaceRules,
} from "../../src/shards/watchman/index.ts";
import { KubernetesBackend } from "../../src/shards/watchman/kubernetes/index.ts";
import { kubeconfigPath, kubectl, useNamespace, userKubeconfig, waitFor } from "../harness/index.ts";

const ns = useNamespace("watchman");

function deployment(name: string, replicas: number) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: "web", image: "example.invalid/web:1" },
            { name: "sidecar", image: "example.invalid/s:1" },
          ],
        },
      },
    },
  };
}

describe("Watchman's Kubernetes backend with exactly its generated Role", () => {
  let backend: KubernetesBackend;
  let admin: KubeClient;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    admin = new KubeClient(loadKubeConfig({ kubeconfig: kubeconfigPath() }));
    const user = `watchman-${ns.name.slice(-6)}`;
    const role = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "watchman", namespace: ns.name },
      rules: watchmanNamespaceRules().map((r) => r.rule),
    };
    const binding = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "watchman", namespace: ns.name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "watchman" },
      subjects: [{ kind: "User", name: user }],
    };
    const input = [role, binding, deployment("web", 2), deployment("web-api", 1)]
      .map((o) => JSON.stringify({ ...o, metadata: { ...o.metadata, namespace: ns.name } }))
      .join("\n");
    await kubectl(["apply", "-f", "-"], { input });
    const client = new KubeClient(loadKubeConfig({ kubeconfig: await userKubeconfig(user) }));
    backend = new KubernetesBackend({ client, namespaces: [ns.name, "elsewhere"], stats: "auto" });
    await waitFor(async () => (await admin.list(RESOURCES.pod, { namespace: ns.name })).items.length === 3, {
      message: "the controller-manager never created the Deployments' pods",
    });
  });

  afterAll(async () => {
    await backend?.close();
    await admin?.close();
  });

  it("resolves a Deployment to its own pods only, by owner references", async () => {
    const stats = await backend.containerStats({ target: "deployment/web", namespace: ns.name, signal });
    const pods = [...new Set(stats.containers.map((c) => c.source.pod))];
    expect(pods).toHaveLength(2);
    for (const pod of pods) expect(pod).toMatch(/^web-[a-z0-9]+-[a-z0-9]+$/);
    expect(stats.containers.map((c) => c.source.container).sort()).toEqual([
      "sidecar",
      "sidecar",
      "web",
      "web",
    ]);
    // Unscheduled: no state yet, no restarts.
    expect(stats.containers[0]).toMatchObject({ state: "unknown", restarts: 0 });
    const api = await backend.containerStats({ target: "deployment/web-api", namespace: ns.name, signal });
    expect(new Set(api.containers.map((c) => c.source.pod)).size).toBe(1);
  });

  it("says why no CPU/memory came (the Role grants neither source, and no pod is on a node)", async () => {
    const stats = await backend.containerStats({
      target: "app=web",
      namespace: ns.name,
      container: "web",
      signal,
    });
    expect(stats.usageSource).toBe("none");
    expect(stats.notes).toEqual([
      // RBAC answers before discovery: without the metrics rule it is a 403, installed or not.
      "metrics API: not allowed (enable it in the install's RBAC: watchmanShard.stats); trying the kubelet summary",
      "CPU/memory unavailable: no pod is on a node yet",
    ]);
    expect(stats.containers.every((c) => c.cpuCores === undefined)).toBe(true);
  });

  it("says why a container has no log yet instead of an empty answer", async () => {
    const result = await backend.tailLogs({
      target: "deployment/web-api",
      namespace: ns.name,
      container: "web",
      lines: 10,
      limitBytes: 65536,
      signal,
    });
    expect(result.logs).toEqual([]);
    expect(result.notes).toEqual([
      expect.stringMatching(
        /^web-api-[a-z0-9]+-[a-z0-9]+\/web: no log yet \(pod Pending, not on a node yet\)$/,
      ),
    ]);
  });

  it("refuses a namespace outside its list before asking, and names a missing target", async () => {
    await expect(
      backend.tailLogs({ target: "web", namespace: "kube-system", lines: 1, limitBytes: 1024, signal }),
    ).rejects.toThrow(WatchmanRefusal);
    await expect(
      backend.searchLogs({
        namespace: "default",
        since: new Date().toISOString(),
        matches: () => true,
        limit: 1,
        maxSources: 1,
        limitBytes: 1024,
        signal,
      }),
    ).rejects.toThrow(/namespace "default" is not one Watchman may read; it may read: .*, elsewhere/);
    await expect(
      backend.containerStats({ target: "statefulset/db", namespace: ns.name, signal }),
    ).rejects.toThrow(WatchmanNotFound);
    // Listed, but no Role there: the apiserver's 403 comes through as it is.
    await expect(backend.containerStats({ target: "app=x", namespace: "elsewhere", signal })).rejects.toThrow(
      /403/,
    );
  });
});
