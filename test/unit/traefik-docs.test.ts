import { createServer, type Server } from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DocsClient, extractDoc, resolveTopic } from "../../src/shards/traefik/docs.ts";
import { listenLoopback } from "../harness/net.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/traefik/docs");

/** Serves the fixture pages like a docs mirror: /<path>/ -> <path>/index.html. */
let server: Server;
let baseUrl: string;
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path.includes("..")) return void res.writeHead(400).end();
    readFile(join(FIXTURES, path, "index.html"), "utf8").then(
      (html) => res.writeHead(200, { "content-type": "text/html" }).end(html),
      () => res.writeHead(404).end("not found"),
    );
  });
  baseUrl = `http://127.0.0.1:${await listenLoopback(server)}/`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

describe("resolveTopic", () => {
  it.each([
    ["routers", "routers"],
    ["Router", "routers"],
    ["File Provider", "file-provider"],
    ["kubernetescrd", "kubernetes-crd"],
    ["IngressRoute", "ingressroute"],
    ["stripPrefix", "middleware/stripprefix"],
    ["middlewares/headers", "middleware/headers"],
    ["letsencrypt", "acme"],
  ])("%s -> %s", (topic, expected) => {
    expect(resolveTopic(topic).topic).toBe(expected);
  });

  it("names the known topics when it cannot resolve one", () => {
    expect(() => resolveTopic("kubernetes gateway api frobnicator")).toThrow(
      /known topics: overview, routers/,
    );
  });
});

describe("extractDoc", () => {
  it("keeps the article and drops navigation, scripts and permalink signs", async () => {
    const html = await readFile(
      join(FIXTURES, "reference/routing-configuration/http/middlewares/stripprefix/index.html"),
      "utf8",
    );
    const doc = extractDoc(html);
    expect(doc.title).toBe("StripPrefix");
    expect(doc.text).toContain("# StripPrefix");
    expect(doc.text).toContain('- "/foobar"');
    expect(doc.text).toContain("| prefixes | List of prefixes to strip from the request URL. | [] |");
    expect(doc.text).not.toMatch(/navigation|var x|Copyright|¶/);
    expect(doc.headings).toEqual([
      "StripPrefix",
      "Configuration Examples",
      "Configuration Options",
      "prefixes",
      "Related",
    ]);
  });
});

describe("DocsClient against a local mirror", () => {
  it("fetches a topic's page, extracts a section and caches it", async () => {
    const docs = new DocsClient({ baseUrl, cacheTtlSeconds: 60 });
    const before = hits;
    const first = await docs.get("stripprefix", "configuration options");
    expect(first.url).toMatch(/\/reference\/routing-configuration\/http\/middlewares\/stripprefix\/$/);
    expect(first.cached).toBe(false);
    expect(first.text.startsWith("## Configuration Options")).toBe(true);
    expect(first.text).toContain("### prefixes");
    expect(first.text).toContain("- Prefixes are matched in order.");
    expect(first.text).not.toContain("ReplacePath");
    const second = await docs.get("middleware/stripPrefix");
    expect(second.cached).toBe(true);
    expect(second.text).toContain("ReplacePath");
    expect(hits - before).toBe(1);
  });

  it("refetches when the TTL is zero", async () => {
    const docs = new DocsClient({ baseUrl, cacheTtlSeconds: 0 });
    const before = hits;
    await docs.get("file-provider");
    const again = await docs.get("file-provider", "configuration");
    expect(again.cached).toBe(false);
    expect(again.text).toContain("providers.file.watch");
    expect(hits - before).toBe(2);
  });

  it("reports a missing page and an unknown section", async () => {
    const docs = new DocsClient({ baseUrl });
    await expect(docs.get("acme")).rejects.toThrow(/HTTP 404/);
    await expect(docs.get("file-provider", "nonexistent")).rejects.toThrow(
      /sections: File; Configuration Options/,
    );
  });
});
