/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`,
 * pinned devDependency, run from node_modules: no network): its frozen
 * requirement sets and one run of it against a server URL, parsed into
 * scenario results. Used against the shard kit, the bridge and the gateway.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const SUITE_DIR = fileURLToPath(
  new URL("../../node_modules/@modelcontextprotocol/conformance/", import.meta.url),
);
export const REVISIONS = ["2025-11-25", "2026-07-28"] as const;
export type Revision = (typeof REVISIONS)[number];

export interface SuiteRun {
  readonly exitCode: number;
  readonly output: string;
  /** Scenario name -> passed (every check), from the summary lines. */
  readonly scenarios: ReadonlyMap<string, boolean>;
}

/** The scenarios a revision's frozen requirement set scores. */
export function requiredScenarios(revision: Revision): string[] {
  const file = parse(readFileSync(`${SUITE_DIR}requirements/${revision}.yaml`, "utf8")) as {
    server: string[];
  };
  return file.server;
}

/** Runs the suite's server scenarios of `revision` against `url` (never rejects: a failed run is in the result). */
export function runConformanceSuite(url: string, revision: Revision): Promise<SuiteRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${SUITE_DIR}dist/index.js`, "server", "--url", url, "--requirements", revision],
      { maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
      (error, stdout, stderr) => {
        const output = `${stdout}\n${stderr}`;
        const scenarios = new Map<string, boolean>();
        for (const match of output.matchAll(/^([✓✗]) (\S+): \d+ passed, \d+ failed/gmu)) {
          scenarios.set(match[2]!, match[1] === "✓");
        }
        const exitCode = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ exitCode, output, scenarios });
      },
    );
  });
}
