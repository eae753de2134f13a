// What the Dockerfile does, without Docker (there is no engine here): build
// dist/ with tsc, pack the package, install it with production dependencies
// only, and run every entry command from that install. Proves dist/ works
// without devDependencies and that "files" ships what the CLI reads.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../harness/binaries.ts";

const run = promisify(execFile);
const ROOT = repoRoot();
const NODE = process.execPath;
const NPM = join(ROOT, "node_modules/.bin"); // only for tsc; npm comes with this Node

async function npm(args: string[], cwd: string): Promise<string> {
  // The npm on PATH (any Node it runs under can pack and install).
  const { stdout } = await run("npm", args, {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      npm_config_update_notifier: "false",
      npm_config_fund: "false",
      npm_config_audit: "false",
    },
  });
  return stdout;
}

describe("Dockerfile", () => {
  it("copies only files that exist, runs as uid 65532 and starts the CLI from dist/", async () => {
    const text = await readFile(join(ROOT, "Dockerfile"), "utf8");
    const sources = [...text.matchAll(/^COPY\s+(?!--from)(.+)\s+\S+$/gm)].flatMap((m) =>
      (m[1] ?? "").split(/\s+/),
    );
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
    expect(text).toMatch(/^FROM node:24|^ARG NODE_IMAGE=node:24-(bookworm-)?slim$/m);
    expect(text).toContain("npm ci --omit=dev");
    expect(text).toMatch(/^USER 65532:65532$/m);
    expect(text).toMatch(/^HEALTHCHECK /m);
    expect(text).toContain('ENTRYPOINT ["node", "/app/dist/cli.js"]');
    expect(text).toContain("org.opencontainers.image.version");
    // The build script writes dist/ from src/ (what the second stage copies).
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      bin: Record<string, string>;
    };
    expect(pkg.scripts.build).toContain("tsconfig.build.json");
    expect(pkg.bin.shardgate).toBe("dist/cli.js");
    // .dockerignore lets in exactly what the COPY lines need.
    const ignore = await readFile(join(ROOT, ".dockerignore"), "utf8");
    for (const source of sources) expect(ignore, source).toContain(`!${source}`);
  });
});

describe("production install of the package", () => {
  let work: string;
  let cli: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "shardgate-image-"));
    // Build into a private copy, so the shared checkout's dist/ is left alone.
    const pkgDir = join(work, "pkg");
    await mkdir(pkgDir);
    for (const f of ["package.json", "package-lock.json", "README.md", "crds", "templates"]) {
      if (existsSync(join(ROOT, f))) await cp(join(ROOT, f), join(pkgDir, f), { recursive: true });
    }
    await run(
      NODE,
      [join(NPM, "tsc"), "-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(pkgDir, "dist")],
      {
        cwd: ROOT,
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((cause: unknown) => {
      const out = (cause as { stdout?: string }).stdout ?? "";
      throw new Error(`npm run build (tsc) failed:\n${out.slice(0, 4000)}`, { cause });
    });
    const tarball = (await npm(["pack", "--silent"], pkgDir)).trim().split("\n").at(-1) ?? "";
    const app = join(work, "app");
    await mkdir(app);
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "image", private: true }));
    await npm(["install", "--omit=dev", "--prefer-offline", "--no-package-lock", join(pkgDir, tarball)], app);
    cli = join(app, "node_modules/shardgate/dist/cli.js");
  }, 600_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("holds no devDependencies", async () => {
    const installed = await readdir(join(cli, "../../../"));
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    for (const dev of Object.keys(pkg.devDependencies)) {
      if (dev.startsWith("@")) continue; // scoped: checked below
      expect(installed, dev).not.toContain(dev);
    }
    expect(existsSync(join(cli, "../../../typescript"))).toBe(false);
    expect(existsSync(join(cli, "../../../vitest"))).toBe(false);
    expect(existsSync(join(cli, "../../../cdk8s"))).toBe(false);
  });

  it.each([
    [[], "operator"],
    [["operator"], "--leader-elect"],
    [["gateway"], "--session-secret"],
    [["shard", "traefik"], "--traefik-api-url"],
    [["bridge"], "restart"],
  ])("shardgate %j --help", async (args, expected) => {
    const { stdout } = await run(NODE, [cli, ...args, "--help"], {
      env: { ...process.env, NODE_ENV: "production" },
    });
    expect(stdout).toContain(expected);
  });

  it("prints its version", async () => {
    const { stdout } = await run(NODE, [cli, "--version"]);
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(stdout.trim()).toBe(pkg.version);
  });
});
