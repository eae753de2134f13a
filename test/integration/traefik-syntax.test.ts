// What the real Traefik (v3.6, file provider) accepts, kept as fixtures that
// the shard's pure checks are tested against: field names in any case
// (test/fixtures/traefik/keys) and Go regexp syntax in *Regexp matchers
// (test/fixtures/traefik/rules/re2-patterns.json). If Traefik changes its
// mind, this test fails and the fixtures (and the checks) must follow.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { TraefikApi, type RouterInfo } from "../../src/shards/traefik/index.ts";
import { startTraefik, waitFor, type Traefik } from "../harness/index.ts";
import { serveTraefikShard, type TestTraefikShard } from "../support/traefik.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/traefik");

interface Re2Case {
  matcher: string;
  pattern: string;
  rule: string;
  go: string | null;
}

let dir: string;
let traefik: Traefik;
let api: TraefikApi;
let traefikShard: TestTraefikShard;
let client: Client;
let cases: Re2Case[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shardgate-traefik-syntax-"));
  await writeFile(join(dir, "any-case.yaml"), await readFile(join(FIXTURES, "keys/any-case.yaml")));
  cases = (
    JSON.parse(await readFile(join(FIXTURES, "rules/re2-patterns.json"), "utf8")) as { cases: Re2Case[] }
  ).cases;
  const routers = Object.fromEntries(
    cases.map((c, i) => [`re2-${i}`, { rule: c.rule, service: "re2", entryPoints: ["web"] }]),
  );
  await writeFile(
    join(dir, "re2.yaml"),
    stringify({
      http: { routers, services: { re2: { loadBalancer: { servers: [{ url: "http://127.0.0.1:9" }] } } } },
    }),
  );
  traefik = await startTraefik({ fileDir: dir });
  api = new TraefikApi({ baseUrl: traefik.apiUrl });
  traefikShard = await serveTraefikShard("traefik-syntax-test", {
    traefikApiUrl: traefik.apiUrl,
    dynamicDir: dir,
    routeWaitSeconds: 20,
  });
  ({ client } = traefikShard);
});

afterAll(async () => {
  await traefikShard?.close();
  await traefik?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("Traefik's syntax, as the real binary reads it", () => {
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") console.log(traefik.logs().split("\n").slice(-40).join("\n"));
  });

  it("loads field names in any case, and validate_config accepts them with warnings", async () => {
    const router = await waitFor(() => api.router("http", "any-case@file"), {
      message: "Traefik never loaded any-case.yaml",
    });
    expect(router).toMatchObject({
      status: "enabled",
      rule: "Host(`any-case.home.arpa`)",
      entryPoints: ["web"],
      service: "any-case",
      middlewares: ["Any-Case-Strip@file"],
    });
    const services = await api.services("http");
    expect(services.find((s) => s.name === "any-case@file")?.loadBalancer?.servers).toEqual([
      expect.objectContaining({ url: "http://127.0.0.1:9" }),
    ]);

    const result = (await client.callTool({ name: "validate_config", arguments: {} })) as {
      content: { text: string }[];
    };
    const body = JSON.parse(result.content[0]!.text) as {
      files: {
        file: string;
        valid: boolean;
        errors: unknown[];
        warnings: { path: string; message: string }[];
      }[];
    };
    const file = body.files.find((f) => f.file === "any-case.yaml");
    expect(file).toMatchObject({ valid: true, errors: [] });
    expect(file?.warnings).toContainEqual(
      expect.objectContaining({
        path: "HTTP.Routers.any-case.entrypoints",
        message: expect.stringContaining('"entryPoints"'),
      }),
    );
  });

  it("compiles *Regexp matchers with Go's RE2, exactly as the fixture records", async () => {
    const routers = await waitFor(
      async () => {
        const all = new Map<string, RouterInfo>();
        for (const r of await api.routers("http")) all.set(r.name, r);
        return cases.every((_, i) => all.has(`re2-${i}@file`)) ? all : undefined;
      },
      { message: "Traefik never showed every re2 router" },
    );
    const verdicts = cases.map((c, i) => {
      const r = routers.get(`re2-${i}@file`)!;
      const goError = (r.error ?? []).map((e) => /error parsing regexp: (.*)$/s.exec(e)?.[1]).find(Boolean);
      return { rule: c.rule, status: r.status, go: r.status === "enabled" ? null : (goError ?? r.error) };
    });
    expect(verdicts).toEqual(
      cases.map((c) => ({ rule: c.rule, status: c.go === null ? "enabled" : "disabled", go: c.go })),
    );
  });
});
