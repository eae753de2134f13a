// The Traefik shard in ingressroute mode: the real apiserver with Traefik's
// CRDs, the real Traefik's kubernetescrd provider, an ExternalName Service
// pointing at a backend on loopback. Tools are called through a real MCP client.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiException, CustomObjectsApi } from "@kubernetes/client-node";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { serveShard, type ServedShard } from "../../src/shard-kit/index.ts";
import { createTraefikShard } from "../../src/shards/traefik/index.ts";
import {
  applyYaml,
  kubeConfig,
  kubeconfigPath,
  startTraefik,
  useNamespace,
  waitFor,
  type Traefik,
} from "../harness/index.ts";

interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
}

const ns = useNamespace("traefik-shard");
let backend: Server;
let backendPort: number;
let traefik: Traefik;
let served: ServedShard;
let client: Client;

async function call(
  name: string,
  args: Record<string, unknown> = {},
): Promise<{ isError: boolean; body: Record<string, unknown> }> {
  const result = (await client.callTool({ name, arguments: args })) as ToolResult;
  const text = result.content.find((c) => c.type === "text")?.text ?? "";
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { isError: result.isError === true, body };
}

function ingressRoutes() {
  return kubeConfig().makeApiClient(CustomObjectsApi);
}

async function getIngressRoute(name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await ingressRoutes().getNamespacedCustomObject({
      group: "traefik.io",
      version: "v1alpha1",
      namespace: ns.name,
      plural: "ingressroutes",
      name,
    })) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

beforeAll(async () => {
  backend = createServer((req, res) => res.end(`hello from ${req.headers.host}`));
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
  backendPort = (backend.address() as AddressInfo).port;
  await applyYaml(
    kubeConfig(),
    `apiVersion: v1
kind: Service
metadata:
  name: backend
spec:
  type: ExternalName
  externalName: 127.0.0.1
  ports:
    - port: ${backendPort}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: shardgate-foreign
spec:
  routes:
    - kind: Rule
      match: Host(\`foreign.home.arpa\`)
      services:
        - name: backend
          port: ${backendPort}
`,
    { namespace: ns.name },
  );
  traefik = await startTraefik({
    kubeconfig: kubeconfigPath(),
    namespaces: [ns.name],
    allowExternalNameServices: true,
  });
  const shard = createTraefikShard(
    { traefikApiUrl: traefik.apiUrl, mode: "ingressroute", namespace: ns.name, routeWaitSeconds: 45 },
    { kubeConfig: kubeConfig() },
  );
  served = await serveShard(shard, { host: "127.0.0.1", port: 0 });
  client = new Client({ name: "traefik-ingressroute-test", version: "0.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${served.url}/mcp`)));
});

afterAll(async () => {
  await client?.close();
  await served?.close();
  await traefik?.stop();
  await new Promise((resolve) => backend?.close(resolve));
});

describe("traefik shard, ingressroute mode, real apiserver and Traefik", () => {
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") console.log(traefik.logs().split("\n").slice(-80).join("\n"));
  });

  it("creates a labelled IngressRoute that Traefik serves", async () => {
    const created = await call("create_route", {
      name: "app",
      host: "app.home.arpa",
      kubernetes_service: { name: "backend", port: backendPort },
      entry_points: ["web"],
    });
    expect(created.isError).toBe(false);
    expect(created.body).toMatchObject({
      created: true,
      ingressRoute: `${ns.name}/shardgate-app`,
      visibleInTraefik: true,
      traefik: { status: "enabled" },
    });
    const stored = await getIngressRoute("shardgate-app");
    expect((stored?.metadata as { labels: Record<string, string> }).labels).toEqual({
      "app.kubernetes.io/managed-by": "shardgate",
    });
    const res = await waitFor(
      async () => {
        const r = await request(`${traefik.webUrl}/`, { headers: { host: "app.home.arpa" } });
        const body = await r.body.text();
        return r.statusCode === 200 ? body : undefined;
      },
      { message: "Traefik never proxied app.home.arpa" },
    );
    expect(res).toBe("hello from app.home.arpa");
  });

  it("lists the route as managed, and the foreign one as not", async () => {
    const list = await call("list_routes", { provider: "kubernetescrd" });
    const routes = list.body.routes as { name: string; managedByShardgate: boolean; rule: string }[];
    const byRule = Object.fromEntries(routes.map((r) => [r.rule, r.managedByShardgate]));
    expect(byRule).toEqual({ "Host(`app.home.arpa`)": true, "Host(`foreign.home.arpa`)": false });
  });

  it("refuses to replace or delete an IngressRoute without its label", async () => {
    const replace = await call("create_route", {
      name: "foreign",
      host: "x.home.arpa",
      kubernetes_service: { name: "backend", port: backendPort },
      replace: true,
    });
    expect(replace.isError).toBe(true);
    expect(JSON.stringify(replace.body)).toContain("not managed by shardgate");
    const del = await call("delete_route", { name: "foreign" });
    expect(del.isError).toBe(true);
    const foreign = await getIngressRoute("shardgate-foreign");
    expect((foreign?.spec as { routes: { match: string }[] }).routes[0]?.match).toBe(
      "Host(`foreign.home.arpa`)",
    );
  });

  it("deletes its IngressRoute and Traefik drops the router", async () => {
    const del = await call("delete_route", { name: "app" });
    expect(del.body).toMatchObject({ deleted: true, goneFromTraefik: true });
    expect(await getIngressRoute("shardgate-app")).toBeUndefined();
  });
});
