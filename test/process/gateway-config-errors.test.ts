/**
 * `shardgate gateway` config errors as a user meets them: the real CLI in a
 * child process, exit status 2 and a message naming the flag (moved out of
 * the in-process gateway-security tests because it spawns the CLI).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { useScratchDir } from "../support/scratch.ts";

describe("gateway CLI config errors", () => {
  const scratch = useScratchDir("shardgate-cli");
  beforeAll(async () => {
    await writeFile(join(scratch.path, "shards.yaml"), "shards: {}\n");
  });

  const gateway = (...args: string[]) =>
    runCli([
      "gateway",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--shards-file",
      join(scratch.path, "shards.yaml"),
      ...args,
    ]);

  it("names the bad key entry and field of --api-keys (exit 2, no stack)", async () => {
    const file = join(scratch.path, "keys.yaml");
    await writeFile(file, "keys:\n  - id: chat\n    key: short\n");
    const result = gateway("--api-keys", file);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--api-keys");
    expect(result.stderr).toMatch(/keys\.0 \(chat\)\.key: must hold at least 8 characters/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("names the flag of a missing --api-keys or --session-secret-file path (exit 2)", () => {
    for (const flag of ["--api-keys", "--session-secret-file"]) {
      const result = gateway(flag, join(scratch.path, "missing"));
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(flag);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
