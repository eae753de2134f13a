import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const launcher = fileURLToPath(new URL("../../bin/shardgate", import.meta.url));

/**
 * Runs the checkout's launcher the way a user does, with the machine's system
 * Node first on PATH (Node 20 on our machines): the launcher must find or
 * install Node 24 by itself.
 */
function shardgate(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(launcher, args, {
    encoding: "utf8",
    env: { HOME: process.env.HOME ?? "/root", PATH: "/usr/local/bin:/usr/bin:/bin", ...env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("shardgate CLI", () => {
  it("runs on Node >= 22.19 even when the system Node is older", () => {
    const { status, stdout } = shardgate(["version"]);
    expect(status).toBe(0);
    const [major = 0, minor = 0] = /node (\d+)\.(\d+)/.exec(stdout)!.slice(1).map(Number);
    expect(major > 22 || (major === 22 && minor >= 19)).toBe(true);
  });

  it("lists every subcommand in --help", () => {
    const { status, stdout } = shardgate(["--help"]);
    expect(status).toBe(0);
    for (const command of ["operator", "gateway", "shard", "bridge", "new-shard", "connect"]) {
      expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
    }
    expect(shardgate(["shard", "--help"]).stdout).toMatch(/^\s+traefik\b/m);
  });

  it("stops with status 2 and names the setting when a flag is bad", () => {
    const bad = shardgate(["gateway", "--port", "nope"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--port / SHARDGATE_PORT");
  });

  it("stops with status 2 and names the variable when the environment is bad", () => {
    const bad = shardgate(["operator"], { SHARDGATE_WORKERS: "-1" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("SHARDGATE_WORKERS");
  });
});
