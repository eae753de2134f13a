/**
 * Runs the vitest suite (every tier, or the ones named with `--project`) and
 * ends its output with the elapsed wall time and then the plain line CI reads:
 * "N passed, N failed, N skipped". Exits with vitest's status.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";

// Checks that ran before the tests (type check, lint) and failed: each counts
// as one failure in the closing line, and makes the run fail.
const checksFlag = "--failed-checks=";
const failedChecks = (process.argv.find((a) => a.startsWith(checksFlag))?.slice(checksFlag.length) ?? "")
  .split(" ")
  .filter((c) => c.length > 0);
const vitestArgs = process.argv.slice(2).filter((a) => !a.startsWith(checksFlag));

const results = ".test-results.json";
rmSync(results, { force: true });
const args = ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${results}`];
const started = performance.now();
const run = spawnSync("npx", [...args, ...vitestArgs], { stdio: "inherit" });

interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
}

let report: JsonReport | undefined;
try {
  report = JSON.parse(readFileSync(results, "utf8")) as JsonReport;
} catch {
  // vitest died before writing its report
}
// Wall time including vitest's start-up: what `make test-unit` promises to keep under a minute.
const tiers = vitestArgs.filter((_, i) => vitestArgs[i - 1] === "--project");
const elapsed = ((performance.now() - started) / 1000).toFixed(1);
console.log(`elapsed: ${elapsed} s (${tiers.length > 0 ? `tier ${tiers.join(", ")}` : "all tiers"})`);
if (failedChecks.length > 0) console.log(`failed checks: ${failedChecks.join(", ")}`);
if (!report) {
  console.log(`0 passed, ${1 + failedChecks.length} failed`);
  process.exit(run.status || 1);
}
// A test file that fails to load counts as a failure even though it ran no test.
// And a run that vitest failed for any other reason (an unhandled error, a
// failed global setup) counts as one failure, so the closing line never says
// "0 failed" for a failed run.
const counted = report.numFailedTests + (report.numFailedTests === 0 ? report.numFailedTestSuites : 0);
const failed = Math.max(counted, run.status !== 0 ? 1 : 0) + failedChecks.length;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failedChecks.length > 0 ? 1 : (run.status ?? 1));
