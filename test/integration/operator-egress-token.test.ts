/**
 * spec.egress and spec.auth.generate against the real control plane: the
 * operator, running with exactly the generated RBAC of deploy/rbac, writes
 * the Egress NetworkPolicy and the token Secret into the apiserver, and the
 * CRD refuses what cannot work. (That a node enforces the policy is the e2e
 * tier's part: no kubelet or CNI runs here.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { isNotFound, type KubeClient, type KubeObject } from "../../src/kube/index.ts";
import type { RunningOperator } from "../../src/operator/index.ts";
import { kubeconfigPath, kubectl, useNamespace, waitFor } from "../harness/index.ts";
import { DNS_EGRESS, egressPolicyHead } from "../support/shards.ts";
import { adminClient, RESOURCES, shardManifest, startOperatorAs } from "./operator-support.ts";

const ns = useNamespace("egress-token");
const user = `shardgate-operator-${Math.random().toString(36).slice(2, 8)}`;
let operator: RunningOperator;
let admin: KubeClient;

beforeAll(async () => {
  admin = adminClient(kubeconfigPath());
  operator = await startOperatorAs(user, ns.name, { resync: "3" });
});

afterAll(async () => {
  await operator?.stop();
  await admin?.close();
});

async function create(name: string, spec: Record<string, unknown>): Promise<void> {
  await admin.apply(RESOURCES.mcpShard, shardManifest(ns.name, name, spec), {
    fieldManager: "shardgate-test",
  });
}

const gone = (type: (typeof RESOURCES)[keyof typeof RESOURCES], name: string) => async () =>
  admin.get(type, ns.name, name).then(
    () => false,
    (error: unknown) => isNotFound(error),
  );

type Secret = KubeObject & { data?: Record<string, string> };
type Pod = { spec: { containers: Array<{ env?: Array<{ name: string; valueFrom?: unknown }> }> } };

describe("spec.egress", () => {
  it("is written as an Egress NetworkPolicy of the shard's pods, and removed with the field", async () => {
    const egress = {
      to: [
        { cidr: "192.168.1.0/24", except: ["192.168.1.1/32"], ports: [{ port: 8123 }] },
        { pods: { matchLabels: { app: "db" } }, ports: [{ port: 5432 }] },
      ],
    };
    await create("fenced", { container: { image: "ghcr.io/example/mcp:1" }, egress });
    const policy = await waitFor(() => admin.find(RESOURCES.networkPolicy, ns.name, "fenced-egress"));
    const owner = await admin.get(RESOURCES.mcpShard, ns.name, "fenced");
    expect(policy.metadata?.ownerReferences?.[0]).toMatchObject({
      uid: owner.metadata?.uid,
      controller: true,
    });
    expect(policy.spec).toEqual({
      ...egressPolicyHead("fenced"),
      egress: [
        DNS_EGRESS,
        {
          to: [{ ipBlock: { cidr: "192.168.1.0/24", except: ["192.168.1.1/32"] } }],
          ports: [{ protocol: "TCP", port: 8123 }],
        },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns.name } },
              podSelector: { matchLabels: { app: "db" } },
            },
          ],
          ports: [{ protocol: "TCP", port: 5432 }],
        },
      ],
    });
    // The ingress policy is untouched beside it.
    expect((await admin.get(RESOURCES.networkPolicy, ns.name, "fenced")).spec).toMatchObject({
      policyTypes: ["Ingress"],
    });

    await create("fenced", { container: { image: "ghcr.io/example/mcp:1" } });
    await waitFor(gone(RESOURCES.networkPolicy, "fenced-egress"), {
      message: "the egress policy stayed after spec.egress was removed",
    });
    expect(await admin.find(RESOURCES.networkPolicy, ns.name, "fenced")).toBeDefined();
  });
});

describe("spec.auth.generate", () => {
  const auth = (name: string) => ({
    generate: true,
    header: "Authorization",
    valuePrefix: "Bearer ",
    secretKeyRef: { name, key: "token" },
  });

  it("creates the Secret once with a random token, owned by the shard, and hands it to the container", async () => {
    await create("locked", { container: { image: "ghcr.io/example/mcp:1" }, auth: auth("locked-token") });
    const secret = await waitFor(() => admin.find<Secret>(RESOURCES.secret, ns.name, "locked-token"));
    const token = Buffer.from(secret.data?.token ?? "", "base64").toString("utf8");
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const owner = await admin.get(RESOURCES.mcpShard, ns.name, "locked");
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({
      uid: owner.metadata?.uid,
      controller: true,
    });

    const deployment = await waitFor(() => admin.find(RESOURCES.deployment, ns.name, "locked"));
    const env = (deployment.spec as { template: Pod }).template.spec.containers[0]!.env;
    expect(env).toContainEqual({
      name: "SHARDGATE_SHARD_TOKEN",
      valueFrom: { secretKeyRef: { name: "locked-token", key: "token" } },
    });

    // A later change of the shard keeps the token the pods and the gateway hold.
    await create("locked", {
      container: { image: "ghcr.io/example/mcp:2" },
      auth: auth("locked-token"),
    });
    await waitFor(async () => {
      const d = await admin.get(RESOURCES.deployment, ns.name, "locked");
      const image = (d.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec
        .containers[0]!.image;
      return image === "ghcr.io/example/mcp:2";
    });
    const after = await admin.get<Secret>(RESOURCES.secret, ns.name, "locked-token");
    expect(after.data?.token).toBe(secret.data?.token);
  });

  it("uses a Secret the user made as it is (bring your own token)", async () => {
    await admin.create(RESOURCES.secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "own-token", namespace: ns.name },
      stringData: { token: "my-own-token" },
    });
    await create("own", { stdio: { command: ["srv"] }, auth: auth("own-token") });
    await waitFor(() => admin.find(RESOURCES.deployment, ns.name, "own"));
    const secret = await admin.get<Secret>(RESOURCES.secret, ns.name, "own-token");
    expect(Buffer.from(secret.data?.token ?? "", "base64").toString("utf8")).toBe("my-own-token");
    expect(secret.metadata?.ownerReferences).toBeUndefined();
  });
});

describe("CRD validation of the new fields", () => {
  async function apply(name: string, spec: Record<string, unknown>) {
    const yaml = stringify({
      apiVersion: "mcp.shardgate.dev/v1alpha1",
      kind: "McpShard",
      metadata: { name },
      spec,
    });
    return kubectl(["apply", "-n", ns.name, "-f", "-"], { input: yaml, allowFailure: true });
  }

  it("refuses host names where a CIDR belongs, and a destination with both cidr and pods", async () => {
    const host = await apply("host", {
      container: { image: "x:1" },
      egress: { to: [{ cidr: "api.github.com" }] },
    });
    expect(host.exitCode).not.toBe(0);
    expect(host.stderr).toMatch(/cidr/);
    const both = await apply("both", {
      container: { image: "x:1" },
      egress: { to: [{ cidr: "10.0.0.0/8", pods: { matchLabels: { a: "b" } } }] },
    });
    expect(both.stderr).toContain("set exactly one of cidr and pods");
  });

  it("refuses egress and generated tokens for external shards", async () => {
    const egress = await apply("ext1", { url: "http://mcp.example.com/mcp", egress: {} });
    expect(egress.stderr).toContain("spec.egress applies to managed shards");
    const token = await apply("ext2", {
      url: "http://mcp.example.com/mcp",
      auth: { generate: true, valuePrefix: "Bearer ", secretKeyRef: { name: "t", key: "token" } },
    });
    expect(token.stderr).toContain("spec.auth.generate applies to managed shards");
  });

  it("refuses a generated token the shard could not check (not a bearer token)", async () => {
    const result = await apply("nobearer", {
      container: { image: "x:1" },
      auth: { generate: true, secretKeyRef: { name: "t", key: "token" } },
    });
    expect(result.stderr).toContain('auth.generate needs header Authorization and valuePrefix "Bearer "');
  });
});
