// The Traefik shard in ingressroute mode: the real apiserver with Traefik's
// CRDs, the real Traefik's kubernetescrd provider, an ExternalName Service
// pointing at a backend on loopback. Tools are called through a real MCP client.
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { ApiException, CoreV1Api, CustomObjectsApi, DiscoveryV1Api } from "@kubernetes/client-node";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TraefikApi } from "../../src/shards/traefik/index.ts";
import { TRAEFIK_SHARD_RULES } from "../../cdk8s/lib/rbac.ts";
import {
  applyYaml,
  kubeConfig,
  kubeconfigPath,
  startTraefik,
  useNamespace,
  userKubeconfig,
  waitFor,
  type Traefik,
} from "../harness/index.ts";
import { callTool, serveTraefikShard, type TestTraefikShard } from "../support/traefik.ts";
import { listenLoopback } from "../harness/net.ts";

const ns = useNamespace("traefik-shard");
let backend: Server;
let backendPort: number;
let traefik: Traefik;
let traefikShard: TestTraefikShard;
let client: Client;

const call = (name: string, args: Record<string, unknown> = {}) => callTool(client, name, args);

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

/** Waits until Traefik's web entry point answers 200 for `host`; that answer's body. */
function proxiedBody(host: string): Promise<string> {
  return waitFor(
    async () => {
      const r = await request(`${traefik.webUrl}/`, { headers: { host } });
      const body = await r.body.text();
      return r.statusCode === 200 ? body : undefined;
    },
    { message: `Traefik never proxied ${host}` },
  );
}

async function orUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

function readService(name: string) {
  return orUndefined(
    kubeConfig().makeApiClient(CoreV1Api).readNamespacedService({ name, namespace: ns.name }),
  );
}

function readSlice(name: string) {
  return orUndefined(
    kubeConfig().makeApiClient(DiscoveryV1Api).readNamespacedEndpointSlice({ name, namespace: ns.name }),
  );
}

/** A self-signed certificate for one host, made by openssl as an admin would. */
async function selfSignedCert(host: string): Promise<{ cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), "shardgate-tls-"));
  try {
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${host}`,
      "-addext",
      `subjectAltName=DNS:${host}`,
      "-keyout",
      join(dir, "tls.key"),
      "-out",
      join(dir, "tls.crt"),
    ]);
    const [cert, key] = await Promise.all([
      readFile(join(dir, "tls.crt"), "utf8"),
      readFile(join(dir, "tls.key"), "utf8"),
    ]);
    return { cert, key };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** GET / over TLS with SNI `servername`, trusting only `ca`; the body and the certificate served. */
function tlsGet(
  port: number,
  servername: string,
  ca: string,
): Promise<{ status: number; body: string; fingerprint256: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, path: "/", servername, ca, agent: false, headers: { host: servername } },
      (res) => {
        const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, fingerprint256 }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** A YAML ExternalName Service `name` for the loopback backend (ends with a newline). */
function loopbackService(name: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  type: ExternalName
  externalName: 127.0.0.1
  ports:
    - port: ${backendPort}
`;
}

beforeAll(async () => {
  backend = createServer((req, res) => res.end(`hello from ${req.headers.host}`));
  backendPort = await listenLoopback(backend);
  await applyYaml(
    kubeConfig(),
    `${loopbackService("backend")}---
# The user's own Service that happens to have the name a route "taken" would use.
${loopbackService("shardgate-taken")}---
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
  // The shard runs with exactly the Role the Helm chart and cdk8s give it.
  const user = `traefik-shard-${ns.name}`;
  await applyYaml(
    kubeConfig(),
    JSON.stringify({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "traefik-shard" },
      rules: TRAEFIK_SHARD_RULES,
    }) +
      "\n---\n" +
      JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "traefik-shard" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "traefik-shard" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
      }),
    { namespace: ns.name },
  );
  traefikShard = await serveTraefikShard(
    "traefik-ingressroute-test",
    // The shard's own kubeconfig handling (src/kube), as `--kubeconfig` uses it.
    {
      traefikApiUrl: traefik.apiUrl,
      mode: "ingressroute",
      namespace: ns.name,
      routeWaitSeconds: 45,
      kubeconfig: await userKubeconfig(user),
    },
  );
  ({ client } = traefikShard);
});

afterAll(async () => {
  await traefikShard?.close();
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
    const res = await proxiedBody("app.home.arpa");
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

  it("dry_run with backend URLs shows the IngressRoute and its Service, and writes nothing", async () => {
    const dry = await call("create_route", {
      name: "preview",
      host: "preview.home.arpa",
      backends: ["http://192.0.2.10:8080", "http://192.0.2.11:8080"],
      dry_run: true,
    });
    expect(dry.body).toMatchObject({
      dry_run: true,
      backendService: `${ns.name}/shardgate-preview`,
      backendObjects: ["Service", "EndpointSlice"],
    });
    const kinds = String(dry.body.document)
      .split("---\n")
      .map((d) => /^kind: (\w+)$/m.exec(d)?.[1]);
    expect(kinds).toEqual(["IngressRoute", "Service", "EndpointSlice"]);
    expect(await getIngressRoute("shardgate-preview")).toBeUndefined();
    expect(await readService("shardgate-preview")).toBeUndefined();
  });

  it("serves a backend URL through a managed Service owned by the IngressRoute", async () => {
    const created = await call("create_route", {
      name: "url",
      host: "url.home.arpa",
      backends: [`http://127.0.0.1:${backendPort}`],
      entry_points: ["web"],
    });
    expect(created.isError).toBe(false);
    expect(created.body).toMatchObject({
      created: true,
      backendService: `${ns.name}/shardgate-url`,
      backendType: "ExternalName",
      visibleInTraefik: true,
      traefik: { status: "enabled" },
    });
    const ir = await getIngressRoute("shardgate-url");
    const service = await readService("shardgate-url");
    expect(service?.metadata?.labels).toEqual({ "app.kubernetes.io/managed-by": "shardgate" });
    expect(service?.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: "IngressRoute",
        name: "shardgate-url",
        uid: (ir?.metadata as { uid: string }).uid,
      }),
    ]);
    const body = await proxiedBody("url.home.arpa");
    expect(body).toBe("hello from url.home.arpa");
  });

  it("routes IP backends through an EndpointSlice that Traefik reads", async () => {
    // TEST-NET addresses: Traefik lists them as servers; nothing sends them traffic.
    const created = await call("create_route", {
      name: "ips",
      host: "ips.home.arpa",
      backends: ["http://192.0.2.10:8080", "http://192.0.2.11:8080"],
    });
    expect(created.body).toMatchObject({
      backendType: "ClusterIP",
      backendObjects: ["Service", "EndpointSlice"],
      visibleInTraefik: true,
      traefik: { status: "enabled" },
    });
    const slice = await readSlice("shardgate-ips");
    expect(slice?.metadata?.ownerReferences?.[0]?.kind).toBe("IngressRoute");
    const api = new TraefikApi({ baseUrl: traefik.apiUrl });
    const service = await waitFor(async () =>
      (await api.services("http")).find((s) => s.name.includes("shardgate-ips")),
    );
    expect(service.loadBalancer?.servers?.map((s) => s.url).sort()).toEqual([
      "http://192.0.2.10:8080",
      "http://192.0.2.11:8080",
    ]);
  });

  it("refuses a Service of the route's name that is not its own, and creates nothing", async () => {
    const taken = await call("create_route", {
      name: "taken",
      host: "taken.home.arpa",
      backends: [`http://127.0.0.1:${backendPort}`],
    });
    expect(taken.isError).toBe(true);
    expect(JSON.stringify(taken.body)).toContain("not managed by shardgate");
    expect(await getIngressRoute("shardgate-taken")).toBeUndefined();
    expect((await readService("shardgate-taken"))?.metadata?.labels).toBeUndefined();
  });

  it("replacing backends with a kubernetes_service drops the managed Service", async () => {
    const replaced = await call("create_route", {
      name: "ips",
      host: "ips.home.arpa",
      kubernetes_service: { name: "backend", port: backendPort },
      replace: true,
    });
    expect(replaced.body).toMatchObject({ replaced: true, visibleInTraefik: true });
    expect(await readService("shardgate-ips")).toBeUndefined();
    expect(await readSlice("shardgate-ips")).toBeUndefined();
  });

  it("serves a route over TLS with the certificate from a Secret", async () => {
    const { cert, key } = await selfSignedCert("secure.home.arpa");
    await kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({
        namespace: ns.name,
        body: {
          metadata: { name: "secure-tls" },
          type: "kubernetes.io/tls",
          stringData: { "tls.crt": cert, "tls.key": key },
        },
      });
    const created = await call("create_route", {
      name: "secure",
      host: "secure.home.arpa",
      kubernetes_service: { name: "backend", port: backendPort },
      entry_points: ["websecure"],
      tls: { secret_name: "secure-tls" },
    });
    expect(created.isError).toBe(false);
    expect(created.body).toMatchObject({
      created: true,
      visibleInTraefik: true,
      traefik: { status: "enabled" },
    });
    const stored = await getIngressRoute("shardgate-secure");
    expect((stored?.spec as { tls: unknown }).tls).toEqual({
      secretName: "secure-tls",
    });
    expect((stored?.spec as { entryPoints: string[] }).entryPoints).toEqual(["websecure"]);
    // Until Traefik has loaded the Secret it serves its default certificate, which `ca` does not trust.
    const res = await waitFor(
      async () => {
        try {
          const r = await tlsGet(traefik.ports.websecure, "secure.home.arpa", cert);
          return r.status === 200 ? r : undefined;
        } catch {
          return undefined;
        }
      },
      { message: "Traefik never served secure.home.arpa with the Secret's certificate" },
    );
    expect(res.body).toBe("hello from secure.home.arpa");
    expect(res.fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
    const del = await call("delete_route", { name: "secure" });
    expect(del.body).toMatchObject({ deleted: true, goneFromTraefik: true });
  });

  it("deleting the route lets the garbage collector remove its Service", async () => {
    const del = await call("delete_route", { name: "url" });
    expect(del.body).toMatchObject({ deleted: true, goneFromTraefik: true });
    await waitFor(async () => (await readService("shardgate-url")) === undefined, {
      message: "the managed Service outlived its IngressRoute (owner reference not honoured?)",
    });
    await call("delete_route", { name: "ips" });
  });
});
