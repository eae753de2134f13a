/**
 * Bundles the console (src/gateway/ui/client) with esbuild: one ES module and
 * one stylesheet, minified, no external requests. `npm run build` writes them
 * to dist/ui; the gateway bundles in memory when run from source.
 *
 *   node src/gateway/ui/build.ts [outDir]   (default dist/ui)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

const CLIENT = join(import.meta.dirname, "client");

export async function bundleConsole(): Promise<[name: string, body: Buffer][]> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: { console: join(CLIENT, "main.ts"), "console-style": join(CLIENT, "style.css") },
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2022", "chrome110", "firefox110", "safari16"],
    outdir: "out",
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  return result.outputFiles.map((f) => [
    basename(f.path).replace("console-style", "console"),
    Buffer.from(f.contents),
  ]);
}

if (import.meta.main) {
  const out = resolve(process.argv[2] ?? "dist/ui");
  mkdirSync(out, { recursive: true });
  for (const [name, body] of await bundleConsole()) {
    writeFileSync(join(out, name), body);
    console.log(`wrote ${join(out, name)} (${body.length} bytes)`);
  }
}
