/**
 * The console's static files. The image ships them prebuilt in dist/ui
 * (`npm run build` bundles src/gateway/ui/client with esbuild); running from
 * source, they are bundled in memory once at start, so `make run` and the
 * tests serve exactly what the build would ship.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

function typeOf(name: string): string {
  return TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream";
}

export function toAssets(files: Iterable<[name: string, body: Buffer]>): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, body] of files) {
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    assets.set(name, { body, type: typeOf(name), etag });
  }
  return assets;
}

/** Where a build puts the assets: dist/ui beside dist/gateway. */
export const BUILT_ASSETS_DIR = join(import.meta.dirname, "../../ui");

const loaded = new Map<string, Promise<Map<string, Asset>>>();

/**
 * The assets of `dir`, or bundled from source when it holds none; once per
 * process and directory, and only when first asked for (a gateway whose
 * console nobody opens never bundles it).
 */
export function loadConsoleAssets(dir = BUILT_ASSETS_DIR): Promise<Map<string, Asset>> {
  let assets = loaded.get(dir);
  if (!assets) {
    assets = readOrBundle(dir);
    loaded.set(dir, assets);
    assets.catch(() => loaded.delete(dir));
  }
  return assets;
}

async function readOrBundle(dir: string): Promise<Map<string, Asset>> {
  if (existsSync(join(dir, "console.js"))) {
    return toAssets(
      readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))] as [string, Buffer]),
    );
  }
  // From source (tests, make run): esbuild is a dev dependency there.
  const { bundleConsole } = await import("./build.ts");
  return toAssets(await bundleConsole());
}
