/**
 * Every Traefik tool called through the gateway: the real Traefik binary
 * watching a temp directory, the Traefik shard (file mode) served with the
 * shard kit on loopback, the gateway as its own process in standalone mode
 * (--shards-file), a loopback HTTP backend, a local TLS server with an openssl
 * certificate, and a local mirror of the Traefik docs. Tools are called with
 * the official MCP client through the gateway's /mcp, and one through its
 * OpenAPI endpoint.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KIT_ROOT } from "../../src/scaffold/index.ts";
import { serveShard, type ServedShard } from "../../src/shard-kit/index.ts";
import { createTraefikShard } from "../../src/shards/traefik/index.ts";
import { freePort, startTraefik, waitFor, type Traefik } from "../harness/index.ts";
import { spawnManaged, type ManagedProcess } from "../harness/process.ts";
import { serveArgs } from "../support/cli.ts";
import { serveDocsMirror, TRAEFIK_TOOLS, USER_FILE, type DocsMirror } from "../support/traefik.ts";
import { listenLoopback } from "../harness/net.ts";

const CLI = join(KIT_ROOT, "src/cli.ts");
type TraefikTool = (typeof TRAEFIK_TOOLS)[number];

const run = promisify(execFile);

/** A CA and a leaf for `host` signed by it (EC P-256, 30 days), as the Traefik SSL tests make them. */
async function issueCertificate(
  dir: string,
  host: string,
): Promise<{ ca: string; cert: string; key: string }> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const at = (name: string) => join(dir, name);
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    at("ca.key"),
    "-out",
    at("ca.crt"),
    "-days",
    "30",
    "-subj",
    "/CN=Homelab E2E CA",
  ]);
  await run("openssl", [
    "req",
    "-new",
    ...ec,
    "-keyout",
    at("leaf.key"),
    "-out",
    at("leaf.csr"),
    "-subj",
    `/CN=${host}`,
  ]);
  await writeFile(at("leaf.ext"), `subjectAltName=DNS:${host}\n`);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    at("leaf.csr"),
    "-CA",
    at("ca.crt"),
    "-CAkey",
    at("ca.key"),
    "-CAcreateserial",
    "-days",
    "30",
    "-out",
    at("leaf.crt"),
    "-extfile",
    at("leaf.ext"),
  ]);
  const [ca, cert, key] = await Promise.all(
    ["ca.crt", "leaf.crt", "leaf.key"].map((f) => readFile(at(f), "utf8")),
  );
  return { ca: ca!, cert: cert!, key: key! };
}

function close(server: Server | TlsServer | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  if ("closeAllConnections" in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

interface ToolResult {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: { type: string; text?: string }[];
}

let scratch: string;
let dynamicDir: string;
let backend: Server;
let backendUrl: string;
let docs: DocsMirror;
let tlsServer: TlsServer;
let tlsPort: number;
let caPem: string;
let traefik: Traefik;
let shard: ServedShard;
let gateway: ManagedProcess;
let gatewayUrl: string;
let client: Client;
/** Tool name -> name exposed by the gateway, read from tools/list. */
const exposed = new Map<TraefikTool, string>();

async function call(
  tool: TraefikTool,
  args: Record<string, unknown> = {},
): Promise<{ isError: boolean; body: Record<string, unknown> }> {
  const name = exposed.get(tool);
  if (!name) throw new Error(`the gateway does not expose ${tool}`);
  const result = (await client.callTool({ name, arguments: args })) as ToolResult;
  const text = result.content.find((c) => c.type === "text")?.text ?? "";
  let body = result.structuredContent;
  if (!body) {
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
  }
  return { isError: result.isError === true, body };
}

async function viaTraefik(host: string): Promise<{ status: number; body: string }> {
  const res = await request(`${traefik.webUrl}/`, { headers: { host } });
  return { status: res.statusCode, body: await res.body.text() };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "shardgate-e2e-traefik-"));
  dynamicDir = join(scratch, "dynamic");
  await mkdir(dynamicDir);
  await writeFile(join(dynamicDir, "user.yaml"), USER_FILE);

  backend = createServer((req, res) => res.end(`hello from backend ${req.url}`));
  backendUrl = `http://127.0.0.1:${await listenLoopback(backend)}`;

  docs = await serveDocsMirror();

  const pki = await issueCertificate(scratch, "gitea.home.arpa");
  caPem = pki.ca;
  tlsServer = createTlsServer({ cert: pki.cert, key: pki.key }, (socket) => socket.end());
  tlsPort = await listenLoopback(tlsServer);

  traefik = await startTraefik({ fileDir: dynamicDir });
  shard = await serveShard(
    createTraefikShard({
      traefikApiUrl: traefik.apiUrl,
      mode: "file",
      dynamicDir,
      docsBaseUrl: docs.url,
      routeWaitSeconds: 30,
    }),
    { host: "127.0.0.1", port: 0 },
  );

  const shardsFile = join(scratch, "shards.yaml");
  await writeFile(
    shardsFile,
    `shards:\n  traefik:\n    description: the Traefik shard on loopback\n    url: ${shard.url}/mcp\n`,
  );
  const port = await freePort();
  gateway = spawnManaged(
    "gateway",
    process.execPath,
    [CLI, "gateway", "--shards-file", shardsFile, ...serveArgs(port)],
    {
      logPath: join(scratch, "gateway.log"),
      cwd: KIT_ROOT,
      env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "info" },
    },
  );
  gatewayUrl = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (gateway.exit) throw new Error(`the gateway exited:\n${gateway.logTail(30)}`);
      const res = await fetch(`${gatewayUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      const health = (await res.json()) as { shards?: { shard: string; state: string; tools: number }[] };
      const entry = health.shards?.find((s) => s.shard === "default/traefik");
      return entry?.state === "ready" && entry.tools === TRAEFIK_TOOLS.length;
    },
    { timeoutMs: 40_000, message: "the gateway never served the Traefik shard" },
  );

  client = new Client({ name: "e2e-traefik-gateway", version: "0.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gatewayUrl}/mcp`)));
});

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await gateway?.stop();
  await shard?.close();
  await traefik?.stop();
  await Promise.all([close(backend), docs?.close(), close(tlsServer)]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("every Traefik tool through the gateway", () => {
  it("lists the eight Traefik tools, each under one exposed name", async () => {
    const { tools } = await client.listTools();
    for (const tool of TRAEFIK_TOOLS) {
      const matches = tools.filter((t) => t.name === tool || t.name.endsWith(`_${tool}`));
      expect(matches, `exposed names for ${tool}`).toHaveLength(1);
      exposed.set(tool, matches[0]!.name);
    }
    expect(tools).toHaveLength(TRAEFIK_TOOLS.length);
    expect(exposed.get("list_routes")).toBe("traefik_list_routes");
    // What the gateway forwards is the shard's own schema, untouched.
    const direct = new Client({ name: "e2e-traefik-direct", version: "0.0.0" });
    await direct.connect(new StreamableHTTPClientTransport(new URL(`${shard.url}/mcp`)));
    try {
      const own = (await direct.listTools()).tools;
      for (const tool of own) {
        const viaGateway = tools.find((t) => t.name === exposed.get(tool.name as TraefikTool));
        expect(viaGateway?.inputSchema, tool.name).toEqual(tool.inputSchema);
      }
      expect(own).toHaveLength(TRAEFIK_TOOLS.length);
    } finally {
      await direct.close();
    }
  });

  it("list_routes sees the user's own router, not managed", async () => {
    const { isError, body } = await call("list_routes", { provider: "file" });
    expect(isError).toBe(false);
    const routes = body.routes as { name: string; managedByShardgate: boolean; rule: string }[];
    expect(routes).toContainEqual(
      expect.objectContaining({
        name: "user-app@file",
        managedByShardgate: false,
        rule: "Host(`user.home.arpa`)",
        status: "enabled",
      }),
    );
    expect(routes.filter((r) => r.managedByShardgate)).toEqual([]);
  });

  it("create_route writes a route that really proxies through Traefik's web entrypoint", async () => {
    expect((await viaTraefik("gitea.home.arpa")).status).toBe(404);
    const { isError, body } = await call("create_route", {
      name: "gitea",
      host: "gitea.home.arpa",
      backends: [backendUrl],
      entry_points: ["web"],
    });
    expect(isError).toBe(false);
    expect(body).toMatchObject({
      created: true,
      router: "shardgate-gitea@file",
      visibleInTraefik: true,
      traefik: { status: "enabled", rule: "Host(`gitea.home.arpa`)" },
    });
    const proxied = await waitFor(
      async () => {
        const res = await viaTraefik("gitea.home.arpa");
        return res.status === 200 ? res : undefined;
      },
      { message: "Traefik never proxied gitea.home.arpa" },
    );
    expect(proxied.body).toBe("hello from backend /");
    expect(await readdir(dynamicDir)).toContain("shardgate-gitea.yaml");
  });

  it("validate_config finds the errors of a document, and passes the directory", async () => {
    const doc = await call("validate_config", {
      yaml: "http:\n  routers:\n    r:\n      rule: Host(`a.home.arpa`)\n      service: nowhere\n",
    });
    expect(doc.isError).toBe(false);
    expect(doc.body.valid).toBe(false);
    expect(doc.body.errors).toEqual([expect.objectContaining({ path: "http.routers.r.service", line: 5 })]);
    const dir = await call("validate_config");
    expect(dir.body.valid).toBe(true);
    const files = (dir.body.files as { file: string; managed: boolean; valid: boolean }[]).map((f) => [
      f.file,
      f.managed,
      f.valid,
    ]);
    expect(files).toEqual([
      ["shardgate-gitea.yaml", true, true],
      ["user.yaml", false, true],
    ]);
  });

  it("get_backend_status reports the new service and probes its backend", async () => {
    const { isError, body } = await call("get_backend_status", { service: "shardgate-gitea", probe: true });
    expect(isError).toBe(false);
    expect(body.count).toBe(1);
    const [service] = body.services as {
      name: string;
      status: string;
      servers: string[];
      usedBy: string[];
      probes: { url: string; status: number }[];
    }[];
    expect(service).toMatchObject({
      name: "shardgate-gitea@file",
      status: "enabled",
      servers: [backendUrl],
      usedBy: ["shardgate-gitea@file"],
    });
    expect(service?.probes).toEqual([expect.objectContaining({ status: 200 })]);
  });

  it("check_ssl_status reads the local TLS server's certificate and finds Traefik's router for the host", async () => {
    const { isError, body } = await call("check_ssl_status", {
      host: "127.0.0.1",
      port: tlsPort,
      servername: "gitea.home.arpa",
      ca_pem: caPem,
    });
    expect(isError).toBe(false);
    expect(body).toMatchObject({
      port: tlsPort,
      servername: "gitea.home.arpa",
      authorized: true,
      authorizationError: null,
      hostnameMatches: true,
      expired: false,
    });
    const certificate = body.certificate as { subjectAltNames: string[]; issuer: string };
    expect(certificate.subjectAltNames).toEqual(["DNS:gitea.home.arpa"]);
    expect(certificate.issuer).toContain("CN=Homelab E2E CA");
    expect(body.daysLeft).toBeGreaterThanOrEqual(28);
    expect(body.traefikRouters).toEqual([
      expect.objectContaining({ name: "shardgate-gitea@file", status: "enabled" }),
    ]);
    // Without the homelab CA the same certificate is untrusted, and the call still answers.
    const untrusted = await call("check_ssl_status", {
      host: "127.0.0.1",
      port: tlsPort,
      servername: "gitea.home.arpa",
    });
    expect(untrusted.body.authorized).toBe(false);
  });

  it("reload_config touches the managed file and confirms Traefik loaded it", async () => {
    const before = await readFile(join(dynamicDir, "user.yaml"), "utf8");
    const { isError, body } = await call("reload_config");
    expect(isError).toBe(false);
    expect(body).toMatchObject({ ok: true, touched: ["shardgate-gitea.yaml"], missing: [] });
    expect(body.loaded).toEqual([
      expect.objectContaining({ name: "shardgate-gitea@file", status: "enabled" }),
    ]);
    expect(await readFile(join(dynamicDir, "user.yaml"), "utf8")).toBe(before);
  });

  it("get_traefik_docs reads a section from the docs mirror", async () => {
    const { isError, body } = await call("get_traefik_docs", {
      topic: "stripPrefix",
      section: "configuration options",
    });
    expect(isError).toBe(false);
    expect(body).toMatchObject({
      topic: "middleware/stripprefix",
      url: `${docs.url}reference/routing-configuration/http/middlewares/stripprefix/`,
      title: "StripPrefix",
    });
    expect(String(body.text).startsWith("## Configuration Options")).toBe(true);
    expect(body.text).toContain("### prefixes");
    const unknown = await call("get_traefik_docs", { topic: "kubernetes gateway api frobnicator" });
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.body)).toContain("known topics");
  });

  it("the OpenAPI endpoint offers the same tools and calls them", async () => {
    const doc = (await (await fetch(`${gatewayUrl}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, { post?: { operationId: string; requestBody: unknown } }>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    const listPath = `/tools/${exposed.get("list_routes")}`;
    expect(Object.keys(doc.paths).sort()).toEqual(
      TRAEFIK_TOOLS.map((t) => `/tools/${exposed.get(t)}`).sort(),
    );
    expect(doc.paths[listPath]?.post?.operationId).toBe(exposed.get("list_routes"));
    const res = await fetch(`${gatewayUrl}${listPath}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ managed_only: true }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      count: number;
      routes: { name: string; managedByShardgate: boolean }[];
    };
    expect(body.count).toBe(1);
    expect(body.routes[0]).toMatchObject({ name: "shardgate-gitea@file", managedByShardgate: true });
  });

  it("delete_route removes the route and Traefik stops serving it", async () => {
    const { isError, body } = await call("delete_route", { name: "gitea" });
    expect(isError).toBe(false);
    expect(body).toMatchObject({ deleted: true, goneFromTraefik: true });
    expect((await viaTraefik("gitea.home.arpa")).status).toBe(404);
    expect(await readdir(dynamicDir)).toEqual(["user.yaml"]);
    // It refuses what it does not own, and says so to the client.
    const refused = await call("delete_route", { name: "user" });
    expect(refused.isError).toBe(true);
    expect((await readdir(dynamicDir)).sort()).toEqual(["user.yaml"]);
  });
});
