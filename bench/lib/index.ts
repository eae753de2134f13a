/** Helpers every bench shares: command line, statistics, process sampling. */
export { benchArgs, type BenchArgs } from "./args.ts";
export { medianBy, percentile, round, summary } from "./stats.ts";
export { alternatingRounds } from "./rounds.ts";
export { cpuSeconds, cpuSecondsOf, findProcesses, memoryKiB } from "./process.ts";
