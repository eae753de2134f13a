import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DocsClient, extractDoc, resolveTopic } from "../../src/shards/traefik/docs.ts";
import { serveDocsMirror, TRAEFIK_DOCS_FIXTURES, type DocsMirror } from "../support/traefik.ts";

let mirror: DocsMirror;
let baseUrl: string;

beforeAll(async () => {
  mirror = await serveDocsMirror();
  baseUrl = mirror.url;
});

afterAll(() => mirror?.close());

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
      join(TRAEFIK_DOCS_FIXTURES, "reference/routing-configuration/http/middlewares/stripprefix/index.html"),
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
    const before = mirror.hits();
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
    expect(mirror.hits() - before).toBe(1);
  });

  it("refetches when the TTL is zero", async () => {
    const docs = new DocsClient({ baseUrl, cacheTtlSeconds: 0 });
    const before = mirror.hits();
    await docs.get("file-provider");
    const again = await docs.get("file-provider", "configuration");
    expect(again.cached).toBe(false);
    expect(again.text).toContain("providers.file.watch");
    expect(mirror.hits() - before).toBe(2);
  });

  it("reports a missing page and an unknown section", async () => {
    const docs = new DocsClient({ baseUrl });
    await expect(docs.get("acme")).rejects.toThrow(/HTTP 404/);
    await expect(docs.get("file-provider", "nonexistent")).rejects.toThrow(
      /sections: File; Configuration Options/,
    );
  });
});
