// The Traefik shard in file mode against the real Traefik binary watching a
// temp directory, every tool called through a real MCP client.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ServedShard } from "../../src/shard-kit/index.ts";
import { TraefikApi } from "../../src/shards/traefik/index.ts";
import { freePort, startTraefik, waitFor, type Traefik } from "../harness/index.ts";
import {
  callTool,
  serveTraefikShard,
  TRAEFIK_TOOLS,
  USER_FILE as SHARED_USER_FILE,
  type TestTraefikShard,
} from "../support/traefik.ts";
import { listenLoopback } from "../harness/net.ts";

let dir: string;
let backend: Server;
let backendUrl: string;
let traefik: Traefik;
let traefikShard: TestTraefikShard;
let served: ServedShard;
let client: Client;

// The user's own configuration, not shardgate's.
const USER_FILE = `# the user's own configuration, not shardgate's\n${SHARED_USER_FILE}`;
const TCP_UDP_FILE = `# managed-by: shardgate route=tcpudp
tcp:
  routers:
    shardgate-tcpudp:
      rule: HostSNI(\`*\`)
      entryPoints: [tcp]
      service: shardgate-tcpudp
  services:
    shardgate-tcpudp:
      loadBalancer:
        servers:
          - address: 127.0.0.1:9
udp:
  routers:
    shardgate-tcpudp:
      entryPoints: [udp]
      service: shardgate-tcpudp
  services:
    shardgate-tcpudp:
      loadBalancer:
        servers:
          - address: 127.0.0.1:9
`;
// Named like a managed file but without the header: must never be touched either.
const LOOKALIKE = "http:\n  middlewares:\n    lookalike:\n      addPrefix:\n        prefix: /x\n";

const call = (name: string, args: Record<string, unknown> = {}) => callTool(client, name, args);

async function hashes(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of ["user.yaml", "shardgate-lookalike.yaml", "notes.txt"]) {
    out[name] = createHash("sha256")
      .update(await readFile(join(dir, name)))
      .digest("hex");
  }
  return out;
}

async function viaTraefik(host: string): Promise<{ status: number; body: string }> {
  const res = await request(`${traefik.webUrl}/`, { headers: { host } });
  return { status: res.statusCode, body: await res.body.text() };
}

let originalHashes: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shardgate-traefik-dyn-"));
  await writeFile(join(dir, "user.yaml"), USER_FILE);
  await writeFile(join(dir, "shardgate-lookalike.yaml"), LOOKALIKE);
  await writeFile(join(dir, "notes.txt"), "not configuration\n");
  originalHashes = await hashes();
  backend = createServer((req, res) => res.end(`hello from backend ${req.url}`));
  backendUrl = `http://127.0.0.1:${await listenLoopback(backend)}`;
  const [tcpPort, udpPort] = await Promise.all([freePort(), freePort()]);
  traefik = await startTraefik({
    fileDir: dir,
    extraArgs: [
      `--entrypoints.tcp.address=127.0.0.1:${tcpPort}`,
      `--entrypoints.udp.address=127.0.0.1:${udpPort}/udp`,
    ],
  });
  traefikShard = await serveTraefikShard("traefik-file-test", {
    traefikApiUrl: traefik.apiUrl,
    dynamicDir: dir,
    routeWaitSeconds: 30,
  });
  ({ served, client } = traefikShard);
});

afterAll(async () => {
  await traefikShard?.close();
  await traefik?.stop();
  await new Promise((resolve) => backend?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("traefik shard, file mode, real Traefik", () => {
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") console.log(traefik.logs().split("\n").slice(-60).join("\n"));
  });

  it("lists all eight tools over MCP", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TRAEFIK_TOOLS);
  });

  it("creates a route that Traefik enables and that really proxies", async () => {
    const created = await call("create_route", {
      name: "gitea",
      host: "gitea.home.arpa",
      backends: [backendUrl],
      entry_points: ["web"],
    });
    expect(created.isError).toBe(false);
    expect(created.body).toMatchObject({
      created: true,
      router: "shardgate-gitea@file",
      visibleInTraefik: true,
      traefik: { status: "enabled", error: [] },
    });
    await waitFor(async () => (await viaTraefik("gitea.home.arpa")).status === 200, {
      message: "route never proxied",
    });
    expect(await viaTraefik("gitea.home.arpa")).toEqual({ status: 200, body: "hello from backend /" });
    const content = await readFile(join(dir, "shardgate-gitea.yaml"), "utf8");
    expect(content.startsWith("# managed-by: shardgate route=gitea")).toBe(true);
  });

  it("lists routes with provider, status and managed flag", async () => {
    const managed = await call("list_routes", { managed_only: true });
    const routes = managed.body.routes as { name: string; status: string; managedByShardgate: boolean }[];
    expect(routes.map((r) => r.name)).toEqual(["shardgate-gitea@file"]);
    const all = await call("list_routes", { provider: "file", search: "home.arpa" });
    const byName = Object.fromEntries(
      (all.body.routes as { name: string; managedByShardgate: boolean; provider: string }[]).map((r) => [
        r.name,
        r,
      ]),
    );
    expect(byName["user-app@file"]).toMatchObject({ provider: "file", managedByShardgate: false });
    expect(byName["shardgate-gitea@file"]).toMatchObject({ managedByShardgate: true, status: "enabled" });
  });

  it("follows the API's pagination", async () => {
    const onePerPage = await new TraefikApi({ baseUrl: traefik.apiUrl, perPage: 1 }).routers("http");
    const all = await new TraefikApi({ baseUrl: traefik.apiUrl }).routers("http");
    expect(all.length).toBeGreaterThan(2);
    expect(onePerPage.map((r) => r.name)).toEqual(all.map((r) => r.name));
  });

  it("reports backends with a direct probe", async () => {
    const status = await call("get_backend_status", { service: "shardgate-gitea", probe: true });
    const [svc] = status.body.services as { name: string; servers: string[]; probes: { status: number }[] }[];
    expect(svc).toMatchObject({ name: "shardgate-gitea@file", servers: [backendUrl] });
    expect(svc?.probes[0]?.status).toBe(200);
  });

  it("probes only a path on the backend, never a URL of the caller's choosing (SSRF)", async () => {
    // Traefik's own API is the tempting target: reachable from the shard, not from the caller.
    for (const probePath of [`${traefik.apiUrl}/api/rawdata`, "//127.0.0.1:9/x", "file:///etc/passwd"]) {
      const refused = await call("get_backend_status", { probe: true, probe_path: probePath });
      expect(refused.isError).toBe(true);
      expect(String(refused.body.error)).toContain("must be a path such as /healthz");
    }
    const path = await call("get_backend_status", {
      service: "shardgate-gitea",
      probe: true,
      probe_path: "/healthz",
    });
    const [svc] = path.body.services as { probes: { url: string; status: number }[] }[];
    expect(svc?.probes[0]).toMatchObject({ url: `${backendUrl}/healthz`, status: 200 });
  });

  it("refuses a bad document and writes nothing", async () => {
    const before = await readdir(dir);
    // A bad rule, an unknown entry point, a backend that is no URL: each refused (saying what, where known).
    const refusals: { args: Record<string, unknown>; says?: string }[] = [
      { args: { rule: "Host(`broken.home.arpa`" }, says: "expected" },
      { args: { host: "b.home.arpa", entry_points: ["nope"] }, says: 'unknown entry point \\"nope\\"' },
      { args: { host: "b.home.arpa", backends: ["not a url"] } },
    ];
    for (const { args, says } of refusals) {
      const refused = await call("create_route", { name: "broken", backends: [backendUrl], ...args });
      expect(refused.isError).toBe(true);
      if (says !== undefined) expect(JSON.stringify(refused.body)).toContain(says);
    }
    for (const scheme of ["file:///etc/passwd", "gopher://127.0.0.1:6379/_x", "javascript:alert(1)"]) {
      const refused = await call("create_route", { name: "broken", host: "b.home.arpa", backends: [scheme] });
      expect(refused.isError).toBe(true);
      expect(String(refused.body.error)).toContain("is not one Traefik's HTTP load balancer speaks");
    }
    expect((await readdir(dir)).sort()).toEqual(before.sort());
  });

  it("validates documents and the directory with precise locations", async () => {
    const doc = await call("validate_config", {
      yaml: "http:\n  routers:\n    r:\n      rule: PathPrefix(`api`)\n      service: missing\n      entryPoints: [web]\n",
    });
    expect(doc.body.valid).toBe(false);
    const paths = (doc.body.errors as { path: string; line: number }[]).map((e) => [e.path, e.line]);
    expect(paths).toEqual([
      ["http.routers.r.rule", 4],
      ["http.routers.r.service", 5],
    ]);
    const all = await call("validate_config");
    expect(all.body.valid).toBe(true);
    expect((all.body.files as { file: string; managed: boolean }[]).map((f) => [f.file, f.managed])).toEqual([
      ["shardgate-gitea.yaml", true],
      ["shardgate-lookalike.yaml", false],
      ["user.yaml", false],
    ]);
  });

  it("refuses to overwrite or delete what it does not own", async () => {
    const overwrite = await call("create_route", {
      name: "lookalike",
      host: "x.home.arpa",
      backends: [backendUrl],
      replace: true,
    });
    expect(overwrite.isError).toBe(true);
    expect(JSON.stringify(overwrite.body)).toContain("not managed by shardgate");
    const del = await call("delete_route", { name: "lookalike" });
    expect(del.isError).toBe(true);
    const traversal = await call("delete_route", { name: "../user" });
    expect(traversal.isError).toBe(true);
    expect(JSON.stringify(traversal.body)).toContain("invalid route name");
  });

  it("replaces a managed route and waits for the new rule", async () => {
    const replaced = await call("create_route", {
      name: "gitea",
      host: "git.home.arpa",
      backends: [backendUrl],
      entry_points: ["web"],
      replace: true,
    });
    expect(replaced.body).toMatchObject({
      replaced: true,
      traefik: { rule: "Host(`git.home.arpa`)", status: "enabled" },
    });
    await waitFor(async () => (await viaTraefik("git.home.arpa")).status === 200);
  });

  it("reload_config confirms what Traefik loaded", async () => {
    const reload = await call("reload_config");
    expect(reload.body).toMatchObject({ ok: true, touched: ["shardgate-gitea.yaml"], missing: [] });
    expect(reload.body.loaded).toEqual([
      expect.objectContaining({ protocol: "http", name: "shardgate-gitea@file", status: "enabled" }),
    ]);
  });

  it("reload_config confirms TCP and UDP routers of managed files too", async () => {
    // A managed file as an earlier shardgate or a hand edit may leave it: TCP and UDP routers.
    await writeFile(join(dir, "shardgate-tcpudp.yaml"), TCP_UDP_FILE);
    const reload = await call("reload_config");
    expect(reload.body).toMatchObject({ ok: true, missing: [] });
    expect(reload.body.loaded).toEqual([
      expect.objectContaining({ protocol: "http", name: "shardgate-gitea@file", status: "enabled" }),
      expect.objectContaining({ protocol: "tcp", name: "shardgate-tcpudp@file", status: "enabled" }),
      expect.objectContaining({ protocol: "udp", name: "shardgate-tcpudp@file", status: "enabled" }),
    ]);
    expect((await call("delete_route", { name: "tcpudp" })).body).toMatchObject({ deleted: true });
  });

  it("dry_run shows the document and writes nothing", async () => {
    const dry = await call("create_route", {
      name: "preview",
      host: "p.home.arpa",
      backends: [backendUrl],
      dry_run: true,
    });
    expect(dry.body).toMatchObject({ dry_run: true, router: "shardgate-preview@file" });
    expect(String(dry.body.document)).toContain("Host(`p.home.arpa`)");
    expect(await readdir(dir)).not.toContain("shardgate-preview.yaml");
  });

  it("deletes its route and Traefik stops serving it", async () => {
    const del = await call("delete_route", { name: "gitea" });
    expect(del.body).toMatchObject({ deleted: true, goneFromTraefik: true });
    expect((await viaTraefik("git.home.arpa")).status).toBe(404);
    expect(await readdir(dir)).not.toContain("shardgate-gitea.yaml");
  });

  it("Traefik's watcher sees the top level only (why managed files live there)", async () => {
    // Creating the subdirectory is itself a top-level event that makes Traefik
    // re-read the directory: let that reload pass before writing into it.
    await mkdir(join(dir, "sub"));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await writeFile(join(dir, "sub", "nested.yaml"), USER_FILE.replaceAll("user-app", "nested-app"));
    // Nothing at the top level changed since, so Traefik has not re-read the directory.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const before = await call("list_routes", { search: "nested-app" });
    expect(before.body.count).toBe(0);
    // The next top-level change makes Traefik re-read everything, subdirectories included.
    await call("create_route", { name: "poke", host: "poke.home.arpa", backends: [backendUrl] });
    const after = await call("list_routes", { search: "nested-app" });
    expect((after.body.routes as { name: string }[]).map((r) => r.name)).toContain("nested-app@file");
    await call("delete_route", { name: "poke" });
    await rm(join(dir, "sub"), { recursive: true });
  });

  it("left every file it does not own byte for byte as it was", async () => {
    expect(await hashes()).toEqual(originalHashes);
  });

  it("reports health through the kit", async () => {
    const res = await request(`${served.url}/health`);
    const body = (await res.body.json()) as { checks?: { name: string; ok: boolean }[] };
    expect(res.statusCode).toBe(200);
    expect(JSON.stringify(body)).toContain("Traefik API reachable");
  });
});
