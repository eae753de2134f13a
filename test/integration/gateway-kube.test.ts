/**
 * The gateway's catalogue follows McpShards in a real apiserver: created
 * (routable once Ready, as the operator would say through the status
 * subresource), disabled through the admin API (spec.enabled written to the
 * cluster), deleted. Clients hear list_changed; naming notes land in
 * status.gateway under the gateway's own field manager.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { API_VERSION, KIND, type McpShard } from "../../src/api/index.ts";
import { buildGatewayApp, type Gateway } from "../../src/gateway/index.ts";
import { KubeRegistry } from "../../src/gateway/registry/kube.ts";
import { KubeClient, loadKubeConfig, RESOURCES } from "../../src/kube/index.ts";
import { silentLogger } from "../../src/log.ts";
import { kubeconfigPath, useNamespace, waitFor } from "../harness/index.ts";
import { trueCondition } from "../support/shards.ts";
import { connectStreamable, startShard, type TestShard } from "../support/gateway-fixtures.ts";

const ns = useNamespace("gateway");

async function createMcpShard(
  kube: KubeClient,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await kube.create(RESOURCES.mcpShard, {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace },
    spec,
  });
}

/** What the operator does once it verified the shard. */
async function markMcpShardReady(
  kube: KubeClient,
  namespace: string,
  name: string,
  url: string,
): Promise<void> {
  await kube.mergePatch(
    RESOURCES.mcpShard,
    namespace,
    name,
    {
      status: {
        url,
        conditions: [trueCondition("Ready", "test")],
      },
    },
    "status",
  );
}

describe("gateway registry from McpShards", () => {
  let kube: KubeClient;
  let alpha: TestShard;
  let beta: TestShard;
  let gateway: Gateway;
  let base: string;
  let client: Client;
  let changes = 0;

  beforeAll(async () => {
    kube = new KubeClient(loadKubeConfig({ kubeconfig: kubeconfigPath() }));
    alpha = await startShard({ name: "alpha" });
    beta = await startShard({ name: "beta" });
    const registry = new KubeRegistry({ client: kube, logger: silentLogger(), namespaces: [ns.name] });
    gateway = await buildGatewayApp({ registry, bareNames: true, downGraceMs: 0, backoffInitialMs: 50 });
    await gateway.start();
    base = await gateway.app.listen({ host: "127.0.0.1", port: 0 });
    client = await connectStreamable(base);
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes++;
    });
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await gateway?.close();
    await Promise.all([alpha?.close(), beta?.close()]);
    await kube?.close();
  });

  const createShard = (name: string, url: string) => createMcpShard(kube, ns.name, name, { url });
  const markReady = (name: string, url: string) => markMcpShardReady(kube, ns.name, name, url);

  const toolNames = async () => (await client.listTools()).tools.map((t) => t.name).sort();

  it("routes a shard only once it is Ready, and tells connected clients", async () => {
    await createShard("alpha", alpha.url);
    // Not Ready yet: the gateway knows the shard but does not route it.
    await waitFor(async () => {
      const res = await fetch(`${base}/health`);
      const body = (await res.json()) as { shards: { shard: string; state: string }[] };
      return body.shards.find((s) => s.shard === `${ns.name}/alpha` && s.state === "inactive");
    });
    expect(await toolNames()).toEqual([]);
    await markReady("alpha", alpha.url);
    await waitFor(async () => (await toolNames()).includes("echo"), {
      message: "alpha's tools never appeared",
    });
    await waitFor(() => changes > 0, { message: "no list_changed" });
  });

  it("prefixes tools two shards share in bare-name mode and reports it in status.gateway", async () => {
    await createShard("beta", beta.url);
    await markReady("beta", beta.url);
    await waitFor(async () => (await toolNames()).includes("beta_echo"), {
      message: "beta's tools never appeared",
    });
    expect(await toolNames()).toContain("alpha_echo");
    const shard = await waitFor(
      async () => {
        const obj = await kube.get<
          McpShard & { metadata: { managedFields?: { manager?: string; subresource?: string }[] } }
        >(RESOURCES.mcpShard, ns.name, "beta");
        return obj.status?.gateway?.notes?.length ? obj : undefined;
      },
      { message: "status.gateway never written" },
    );
    expect(shard.status?.gateway?.exposedTools).toBe(5);
    expect(shard.status?.gateway?.notes?.join("\n")).toContain(`also offered by ${ns.name}/alpha`);
    expect(
      shard.metadata.managedFields?.some(
        (f) => f.manager === "shardgate-gateway" && f.subresource === "status",
      ),
    ).toBe(true);
    // The operator's status fields are untouched.
    expect(shard.status?.url).toBe(beta.url);
  });

  it("disables a shard through the admin API by writing spec.enabled in the cluster", async () => {
    const before = changes;
    const res = await fetch(`${base}/api/shards/${ns.name}/alpha`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ enabled: false }),
    });
    expect(res.status).toBe(202);
    const obj = await kube.get<McpShard>(RESOURCES.mcpShard, ns.name, "alpha");
    expect(obj.spec.enabled).toBe(false);
    // beta alone: its names are bare again.
    await waitFor(
      async () => {
        const names = await toolNames();
        return names.includes("echo") && !names.includes("alpha_echo");
      },
      { message: "alpha's tools never went away" },
    );
    await waitFor(() => changes > before, { message: "no list_changed on disable" });
  });

  it("drops a deleted shard", async () => {
    const before = changes;
    await kube.delete(RESOURCES.mcpShard, ns.name, "beta");
    await waitFor(async () => (await toolNames()).length === 0, { message: "beta's tools never went away" });
    await waitFor(() => changes > before, { message: "no list_changed on delete" });
    const missing = await fetch(`${base}/api/shards/${ns.name}/beta`);
    expect(missing.status).toBe(404);
  });
});

describe("gateway upstream auth from a Secret", () => {
  const authNs = useNamespace("gateway-auth");
  const TOKEN = "cluster-shard-token-0123456789";
  let kube: KubeClient;
  let home: TestShard;
  let gateway: Gateway;
  let base: string;
  let client: Client;

  beforeAll(async () => {
    kube = new KubeClient(loadKubeConfig({ kubeconfig: kubeconfigPath() }));
    home = await startShard({
      name: "home",
      requireHeader: { name: "X-Shard-Token", value: `Bearer ${TOKEN}` },
    });
    const registry = new KubeRegistry({ client: kube, logger: silentLogger(), namespaces: [authNs.name] });
    gateway = await buildGatewayApp({ registry, downGraceMs: 0, backoffInitialMs: 50, backoffMaxMs: 500 });
    await gateway.start();
    base = await gateway.app.listen({ host: "127.0.0.1", port: 0 });
    client = await connectStreamable(base);
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await gateway?.close();
    await home?.close();
    await kube?.close();
  });

  it("sends the header from spec.auth.secretKeyRef, and the shard accepts it", async () => {
    await kube.create(RESOURCES.secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "home-shard", namespace: authNs.name },
      type: "Opaque",
      data: {
        token: Buffer.from(`${TOKEN}\n`).toString("base64"),
        other: Buffer.from("wrong").toString("base64"),
      },
    });
    const auth = (key: string) => ({
      header: "X-Shard-Token",
      valuePrefix: "Bearer ",
      secretKeyRef: { name: "home-shard", key },
    });
    await createMcpShard(kube, authNs.name, "home", { url: home.url, auth: auth("token") });
    await createMcpShard(kube, authNs.name, "wrong", { url: home.url, auth: auth("other") });
    await markMcpShardReady(kube, authNs.name, "home", home.url);
    await markMcpShardReady(kube, authNs.name, "wrong", home.url);

    await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === "home_echo"), {
      message: "home's tools never appeared",
    });
    const r = await client.callTool({ name: "home_echo", arguments: { text: "from the cluster" } });
    expect(r.content).toEqual([{ type: "text", text: "home:from the cluster" }]);

    // The other key of the Secret holds a value the shard refuses.
    const down = await waitFor(async () => {
      const body = (await (await fetch(`${base}/health`)).json()) as {
        shards: { shard: string; state: string; lastError?: string }[];
      };
      return body.shards.find((s) => s.shard === `${authNs.name}/wrong` && s.state === "down");
    });
    expect(down.lastError).toContain("401");
    expect(home.refused).toBeGreaterThan(0);
    expect((await client.listTools()).tools.some((t) => t.name.startsWith("wrong_"))).toBe(false);
  });
});
