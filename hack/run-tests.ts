/**
 * Runs the whole vitest suite and ends its output with the plain line CI reads:
 * "N passed, N failed, N skipped". Exits with vitest's status.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";

const results = ".test-results.json";
rmSync(results, { force: true });
const args = ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${results}`];
const run = spawnSync("npx", [...args, ...process.argv.slice(2)], { stdio: "inherit" });

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
if (!report) {
  console.log("0 passed, 1 failed");
  process.exit(run.status || 1);
}
// A test file that fails to load counts as a failure even though it ran no test.
const failed = report.numFailedTests + (report.numFailedTests === 0 ? report.numFailedTestSuites : 0);
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
process.exit(run.status ?? 1);
