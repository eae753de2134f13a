// The unit tier's rule (no child process) is enforced by its setup file, not
// only written down: a spawn here throws and names the tier to move to.
import { execFile, spawn, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

describe("unit tier", () => {
  it("refuses to start a process, naming test/process/", async () => {
    expect(() => spawn(process.execPath, ["--version"])).toThrow(/belongs in test\/process\//);
    expect(() => spawnSync(process.execPath, ["--version"])).toThrow(
      /child_process\.spawnSync in the unit tier/,
    );
    await expect(promisify(execFile)(process.execPath, ["--version"])).rejects.toThrow(/test\/process\//);
  });
});
