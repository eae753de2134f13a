/**
 * Setup file of the unit tier: makes its rule executable. A unit test runs in
 * this process only, so starting a child process throws, naming the tier the
 * test belongs in instead (see CONTRIBUTING.md, "Which test tier").
 */
import childProcess from "node:child_process";
import { syncBuiltinESMExports } from "node:module";

const SPAWNERS = ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"] as const;

for (const name of SPAWNERS) {
  Object.assign(childProcess, {
    [name]: () => {
      throw new Error(
        `child_process.${name} in the unit tier: a test that starts a process belongs in test/process/ ` +
          `(or test/integration/ when it needs the control plane); see CONTRIBUTING.md`,
      );
    },
  });
}
// The named ESM exports (`import { spawn } from "node:child_process"`) follow the patched module.
syncBuiltinESMExports();
