import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { parse as parseYaml } from "yaml";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { KIT_ROOT, kitDependency, renderTemplate, scaffoldShard } from "../../src/scaffold/index.ts";
import { mcpShard } from "../../src/api/index.ts";
import { runCommand } from "../support/cli.ts";
import { useScratchDir } from "../support/scratch.ts";

/** Runs a command to completion; rejects with its output when it fails. */
const run = runCommand;

// The npm that ships with the Node running the tests (>= 22.19).
const NPM = existsSync(join(dirname(process.execPath), "npm"))
  ? join(dirname(process.execPath), "npm")
  : "npm";

describe("renderTemplate", () => {
  it("fills placeholders and refuses unknown ones", () => {
    expect(renderTemplate("name: {{name}} ({{name}})", { name: "watchman" })).toBe(
      "name: watchman (watchman)",
    );
    expect(() => renderTemplate("{{nope}}", {})).toThrow(/unknown placeholder \{\{nope\}\}/);
  });

  it("links a kit path relative to the project and passes versions through", () => {
    expect(kitDependency("/src/shardgate", "/home/me/shards/watchman")).toBe(
      "file:../../../../src/shardgate",
    );
    expect(kitDependency("^0.1.0", "/x")).toBe("^0.1.0");
  });
});

describe("scaffoldShard", () => {
  const parent = useScratchDir("shardgate-scaffold");

  it("refuses bad names and non-empty directories", async () => {
    await expect(scaffoldShard({ name: "Watch_Man", dir: join(parent.path, "bad") })).rejects.toThrow(
      /lower-case/,
    );
    await mkdir(join(parent.path, "full"));
    await writeFile(join(parent.path, "full", "x"), "");
    await expect(scaffoldShard({ name: "full", dir: join(parent.path, "full") })).rejects.toThrow(
      /not empty/,
    );
  });

  it("writes a valid McpShard manifest", async () => {
    const { dir, files } = await scaffoldShard({ name: "disk-usage", dir: join(parent.path, "disk-usage") });
    expect(files).toEqual(
      expect.arrayContaining([".gitignore", "Dockerfile", "mcpshard.yaml", "src/shard.ts"]),
    );
    const manifest = mcpShard.parse(parseYaml(await readFile(join(dir, "mcpshard.yaml"), "utf8")));
    expect(manifest.spec.container).toMatchObject({
      image: "registry.home.arpa/disk-usage:0.1.0",
      port: 8080,
      path: "/mcp",
    });
    expect(manifest.spec.tools?.prefix).toBe("disk_usage");
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
    expect(pkg.dependencies.shardgate).toMatch(/^file:/);
  });
});

describe("a scaffolded shard", () => {
  const parent = useScratchDir("shardgate-watchman");
  let dir: string;
  let shardProcess: ChildProcess | undefined;

  beforeAll(async () => {
    ({ dir } = await scaffoldShard({ name: "watchman", dir: join(parent.path, "watchman"), kit: KIT_ROOT }));
    await run(NPM, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], dir);
  }, 300_000);

  afterAll(async () => {
    if (shardProcess && shardProcess.exitCode === null) {
      shardProcess.kill("SIGKILL");
      await new Promise((resolve) => shardProcess!.once("close", resolve));
    }
  });

  it("passes its own test", async () => {
    const output = await run(process.execPath, ["node_modules/vitest/vitest.mjs", "run"], dir, {
      ...process.env,
      NO_COLOR: "1",
    });
    expect(output).toMatch(/1 passed/);
  }, 120_000);

  it("starts on a given port, answers its tool, and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, ["src/main.ts"], {
      cwd: dir,
      env: {
        ...process.env,
        SHARD_HOST: "127.0.0.1",
        SHARD_PORT: "0",
        LOG_FORMAT: "json",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    shardProcess = child;
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "shard listening" && entry.url) resolve(entry.url);
      });
      child.once("close", (code) => reject(new Error(`shard exited early with ${code}`)));
    });

    const client = new Client({ name: "scaffold-test", version: "0.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    const result = await client.callTool({ name: "greet", arguments: { who: "watchman" } });
    expect(result.structuredContent).toEqual({ greeting: "Hello, watchman." });
    const manifest = (await (await fetch(`${url}/manifest`)).json()) as { name: string };
    expect(manifest.name).toBe("watchman");
    await client.close();

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 60_000);
});
