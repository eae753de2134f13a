// The layer rules of eslint.config.js are real: eslint fails on a forbidden
// import (a fixture linted as if it stood in src/), and passes its allowed twin.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../harness/binaries.ts";

const ROOT = repoRoot();
// Only the import rules matter here; type-aware rules would want the fixture in the TS project.
const eslint = new ESLint({ cwd: ROOT, overrideConfig: [tseslint.configs.disableTypeChecked] });

async function importErrors(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === "no-restricted-imports" && m.severity === 2)
    .map((m) => m.message);
}

describe("architecture rules in eslint", () => {
  it("fails the gateway importing the operator (the fixture)", async () => {
    const fixture = await readFile(join(ROOT, "test/fixtures/lint/gateway-imports-operator.ts.txt"), "utf8");
    const errors = await importErrors(fixture, "src/gateway/fixture.ts");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/meet only through src\/api/);
    // The same import from the CLI, which wires both, is allowed.
    expect(await importErrors(fixture, "src/cli/fixture.ts")).toEqual([]);
  });

  it("fails every forbidden arrow, also from deeper folders and as a type import", async () => {
    const cases: [file: string, code: string][] = [
      ["src/operator/reconcile/x.ts", `import { CODES } from "../../gateway/errors.ts";`],
      ["src/shards/traefik/x.ts", `import type { GatewayConfig } from "../../gateway/config.ts";`],
      ["src/shards/traefik/x.ts", `export { runOperator } from "../../operator/index.ts";`],
      ["src/bridge/x.ts", `import { CODES } from "../gateway/errors.ts";`],
      ["src/shard-kit/x.ts", `import "../operator/index.ts";`],
      ["src/api/x.ts", `import { messageOf } from "../util/index.ts";`],
      ["src/api/v1alpha1/x.ts", `import { kube } from "../../kube/index.ts";`],
    ];
    for (const [file, code] of cases)
      expect(await importErrors(code, file), `${file}: ${code}`).toHaveLength(1);
  });

  it("allows the arrows that may exist", async () => {
    const cases: [file: string, code: string][] = [
      ["src/gateway/x.ts", `import { mcpShard } from "../api/index.ts";`],
      ["src/operator/x.ts", `import { ERRORS } from "../errors/index.ts";`],
      ["src/bridge/x.ts", `import { serve } from "../shard-kit/index.ts";`],
      ["src/api/v1alpha1/x.ts", `import { common } from "../v1alpha1/common.ts";`],
      ["src/api/x.ts", `import { z } from "zod";`],
    ];
    for (const [file, code] of cases) expect(await importErrors(code, file), `${file}: ${code}`).toEqual([]);
  });
});
