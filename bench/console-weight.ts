/**
 * The console's page weight and time to first render on the loopback, beside
 * a baseline measured in the same run: a blank page served by a bare Node
 * HTTP server to the same Chromium (what any page costs here). Rounds
 * alternate baseline and console in a fresh browser context each (cold
 * cache), and the median counts.
 *
 *  - bytes: what the first view transfers (page, script, stylesheet, and the
 *    JSON the first view asks for), raw as served and gzip-compressed (what a
 *    compressing proxy such as Traefik would send);
 *  - first render: navigation start → the first view drawn (the sign-in form;
 *    signed in, the Shards view with its cards), timed inside the page.
 *
 *   node bench/console-weight.ts [--rounds 10] [--shards 20]
 *
 * Figures go to stdout and to bench/results/console-weight.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Page } from "playwright-core";
import { KeyStore } from "../src/gateway/index.ts";
import { startBrowser } from "../test/harness/browser.ts";
import { startGateway, startShard } from "../test/support/gateway-fixtures.ts";
import { eventually } from "../test/support/wait.ts";
import { benchArgs, round, summary } from "./lib/index.ts";

const args = benchArgs();
const rounds = args.number("rounds", 10);
const shardCount = args.number("shards", 20);
const KEY = "bench-admin-key-0123456789";

/** Resolves to performance.now() when `selector` first matches, watched from before the first byte. */
const firstViewProbe = (selector: string) => `
  window.__firstView = new Promise((resolve) => {
    const found = () => document.querySelector(${JSON.stringify(selector)}) && (resolve(performance.now()), true);
    const watch = () => { if (!found()) new MutationObserver((_, mo) => found() && mo.disconnect())
      .observe(document.documentElement, { childList: true, subtree: true }); };
    document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", watch) : watch();
  });`;

async function timeFirstView(page: Page, url: string, selector: string): Promise<number> {
  await page.addInitScript({ content: firstViewProbe(selector) });
  await page.goto(url);
  return page.evaluate<number>("window.__firstView");
}

const home = await startShard({ name: "home" });
const shards = Object.fromEntries(
  Array.from({ length: shardCount }, (_, i) => [`shard-${i}`, { url: home.url }]),
);
const gw = await startGateway(shards, { keys: KeyStore.fromEntries([{ id: "ops", key: KEY, admin: true }]) });
await eventually(
  () => gw.gateway.catalogue.catalogue.tools.length >= shardCount,
  "every shard's tools",
  60_000,
);
const blank = createServer((_req, res) =>
  res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>blank</title><p>hello</p>"),
);
await new Promise<void>((resolve) => blank.listen(0, "127.0.0.1", resolve));
const blankUrl = `http://127.0.0.1:${(blank.address() as AddressInfo).port}/`;

// Bytes of the first view, signed in: the page, its assets, the session and the shard list.
const cookie = `shardgate_key=${KEY}`;
const page = await (await fetch(`${gw.base}/ui`)).text();
const assetPaths = [...page.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);
const parts: Record<string, Buffer> = { "/ui": Buffer.from(page) };
for (const path of [...assetPaths, "/ui/session", "/api/shards"]) {
  parts[path.split("?")[0]!] = Buffer.from(
    await (await fetch(`${gw.base}${path}`, { headers: { cookie } })).arrayBuffer(),
  );
}
const bytes = Object.fromEntries(
  Object.entries(parts).map(([path, body]) => [path, { raw: body.length, gzip: gzipSync(body).length }]),
);
const total = (kind: "raw" | "gzip", paths = Object.keys(bytes)) =>
  paths.reduce((n, p) => n + bytes[p]![kind], 0);
const staticPaths = Object.keys(bytes).filter((p) => p === "/ui" || p.startsWith("/ui/assets/"));

const browser = await startBrowser("bench");
const runs = { baseline: [] as number[], signIn: [] as number[], shards: [] as number[] };
for (let i = 0; i < rounds; i++) {
  const fresh = () => browser.open("about:blank");
  const a = await fresh();
  runs.baseline.push(await timeFirstView(a.page, blankUrl, "p"));
  await a.page.context().close();
  const s = await fresh();
  runs.signIn.push(await timeFirstView(s.page, `${gw.base}/ui`, "form.signin"));
  await s.page.context().close();
  const v = await fresh();
  await v.page.context().addCookies([
    {
      name: "shardgate_key",
      value: KEY,
      domain: "127.0.0.1",
      path: "/",
      httpOnly: true,
      sameSite: "Strict",
    },
  ]);
  runs.shards.push(await timeFirstView(v.page, `${gw.base}/ui`, "article.shard"));
  await v.page.context().close();
}
await browser.close();

const result = {
  machine: { cpus: cpus().length, loadavg: loadavg().map((l) => round(l)) },
  rounds,
  shards: shardCount,
  bytes,
  firstView: {
    staticRaw: total("raw", staticPaths),
    staticGzip: total("gzip", staticPaths),
    signedInRaw: total("raw"),
    signedInGzip: total("gzip"),
  },
  firstRenderMs: {
    baselineBlankPage: summary(runs.baseline.sort((x, y) => x - y)),
    consoleSignIn: summary(runs.signIn.sort((x, y) => x - y)),
    consoleShards: summary(runs.shards.sort((x, y) => x - y)),
  },
};
console.log("bytes (raw / gzip):");
for (const [path, b] of Object.entries(bytes))
  console.log(`  ${path.padEnd(24)} ${String(b.raw).padStart(7)} / ${b.gzip}`);
console.log(`  first view, static      ${result.firstView.staticRaw} / ${result.firstView.staticGzip}`);
console.log(
  `  first view, signed in   ${result.firstView.signedInRaw} / ${result.firstView.signedInGzip} (${shardCount} shards)`,
);
console.log(`first render on the loopback, ms (p50 / p90 / max over ${rounds} cold rounds):`);
for (const [name, s] of Object.entries(result.firstRenderMs))
  console.log(`  ${name.padEnd(20)} ${round(s.p50, 1)} / ${round(s.p90, 1)} / ${round(s.max, 1)}`);
await mkdir("bench/results", { recursive: true });
await writeFile(join("bench/results", "console-weight.json"), JSON.stringify(result, null, 2));
await gw.close();
await home.close();
blank.close();
