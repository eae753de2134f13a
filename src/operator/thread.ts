/**
 * The CLI runs the operator in a worker thread whose young generation is
 * bounded. At 200 shards the operator's resident memory was mostly V8's new
 * space, not live data: while shards converge the allocation rate is high,
 * V8 doubles the new space after busy scavenges up to its default maximum
 * (128 MiB on Node 24) and those pages stay resident, next to a live heap of
 * about 50 MiB. `--max-semi-space-size` bounds it only when given to node at
 * startup, which the operator does not control (the image's entrypoint, a
 * chart's env); a worker's `resourceLimits` bound it for the isolate that does
 * the work, from inside the process. Turning the growth factor down at run
 * time was tried first: V8 still grows the new space after full collections.
 *
 * The old generation grew too: at 1,000 shards V8 raised its limit up to 4×
 * per full collection during the burst (old space 113–118 MiB for a live heap
 * of 35–90 MiB) and kept the pages, so RSS ended at ~270 MiB. V8's heap
 * growth factor is a process-wide flag read when a collection sets the next
 * limit, so setting it before the worker's isolate exists holds for that
 * isolate (unlike the young generation of a running one): 25 % keeps the old
 * space near the live size at the price of more frequent full collections.
 *
 * Process-level concerns stay on the main thread (signals, exit codes); the
 * worker runs `startOperator` unchanged, so tests keep running it in-process.
 */
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { pipeline } from "node:stream/promises";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { HEAP_GROWTH_FLAG, namesFlag, userNodeFlags, YOUNG_GENERATION_FLAG } from "../util/node-flags.ts";
import type { OperatorConfig } from "./config.ts";

/** Young generation of the operator's isolate (MiB): ample for objects that die within a reconcile. */
const YOUNG_GENERATION_MIB = 16;

/** Old-space growth per full collection (V8's --heap-growing-percent; see the file comment). */
export const OLD_SPACE_GROWTH_FLAG = "--heap-growing-percent=25";

/** What the worker runs: the operator with a parsed config, or the whole `shardgate operator` command line. */
type ThreadData =
  | { readonly shardgateOperator: true; readonly config: OperatorConfig }
  | { readonly shardgateOperator: true; readonly argv: string[] };

/** Did the user set the old space's growth themselves (node flags or NODE_OPTIONS)? Then theirs holds. */
export function growthSetByUser(flags = userNodeFlags()): boolean {
  return namesFlag(flags, HEAP_GROWTH_FLAG);
}

export interface OperatorThread {
  /** Asks the operator to stop (workers drain, watches close); `exited` then resolves with 0. */
  stop(signal?: string): void;
  /** The exit code: 0 after stop(), 1 when leadership was lost or the operator failed. */
  readonly exited: Promise<number>;
}

/** Starts the operator in a worker thread with a bounded young generation. */
export function startOperatorThread(config: OperatorConfig, onError: (error: Error) => void): OperatorThread {
  return startThread({ shardgateOperator: true, config }, onError);
}

function startThread(data: ThreadData, onError: (error: Error) => void): OperatorThread {
  if (!growthSetByUser()) setFlagsFromString(OLD_SPACE_GROWTH_FLAG);
  const worker = new Worker(new URL(import.meta.url), {
    workerData: data,
    // A young generation the user sized holds.
    resourceLimits: namesFlag(userNodeFlags(), YOUNG_GENERATION_FLAG)
      ? undefined
      : { maxYoungGenerationSizeMb: YOUNG_GENERATION_MIB },
  });
  let failed = false;
  worker.on("error", (error: Error) => {
    failed = true;
    onError(error);
  });
  snapshotOnSignal(worker, onError);
  const exited = new Promise<number>((resolve) =>
    worker.once("exit", (code) => resolve(failed && code === 0 ? 1 : code)),
  );
  return { stop: (signal?: string) => worker.postMessage({ stop: signal ?? "stop" }), exited };
}

/**
 * `shardgate operator ...` from src/cli.ts: the command line is parsed in
 * the worker too, so this thread loads no CLI module (commander, zod, the
 * config schemas, pino: ~25 MiB resident for the operator's life). It
 * forwards stop signals, exits with the worker's code, and loads the logger
 * only to report a worker that failed.
 */
export async function runOperatorCliThread(argv: string[]): Promise<never> {
  const reported: Array<Promise<void>> = [];
  const operator = startThread({ shardgateOperator: true, argv }, (error) => {
    reported.push(
      import("../log.ts").then(({ createLogger }) => {
        createLogger({ name: "operator" }).error({ err: error }, "operator failed");
      }),
    );
  });
  process.once("SIGTERM", () => operator.stop("SIGTERM"));
  process.once("SIGINT", () => operator.stop("SIGINT"));
  const code = await operator.exited;
  await Promise.allSettled(reported);
  process.exit(code);
}

/**
 * `node --heapsnapshot-signal=SIG` snapshots the main thread only, and the
 * operator's heap is the worker's: on that signal, write the worker's too
 * (into --diagnostic-dir, else the working directory).
 */
function snapshotOnSignal(worker: Worker, onError: (error: Error) => void): void {
  const flag = (name: string) =>
    process.execArgv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const signal = flag("heapsnapshot-signal");
  if (!signal) return;
  const listener = () => {
    const file = join(
      flag("diagnostic-dir") ?? process.cwd(),
      `Heap.operator-worker.${Date.now()}.heapsnapshot`,
    );
    worker
      .getHeapSnapshot()
      .then((snapshot) => pipeline(snapshot, createWriteStream(file)))
      .catch((cause: unknown) => onError(new Error(`heap snapshot ${file} failed`, { cause })));
  };
  process.on(signal, listener);
  worker.once("exit", () => process.off(signal, listener));
}

/**
 * Runs the operator in this (worker) thread until the main thread asks it to
 * stop; used by the operator command's action when the CLI runs in the worker.
 */
export async function runOperatorInThread(config: OperatorConfig): Promise<void> {
  const { createLogger } = await import("../log.ts");
  const { startOperator } = await import("./operator.ts");
  const logger = createLogger({ name: "operator" });
  const operator = await startOperator(config, logger, {
    // A replica that lost the lease may hold stale intentions: exit and let Kubernetes restart it.
    onLeadershipLost: () => process.exit(1),
  });
  parentPort?.once("message", (message: { stop?: string }) => {
    if (message.stop && message.stop !== "stop") logger.info({ signal: message.stop }, "shutting down");
    operator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}

/** Is this the operator's worker thread? Then the operator command runs the operator here. */
export function inOperatorThread(): boolean {
  return !isMainThread && !!(workerData as ThreadData | undefined)?.shardgateOperator;
}

async function workerMain(data: ThreadData): Promise<void> {
  if ("config" in data) return runOperatorInThread(data.config);
  const { runCli } = await import("../cli/main.ts");
  await runCli(data.argv);
}

const data = workerData as ThreadData | undefined;
// Not awaited at the top level: the command's action imports this module again (a module still
// evaluating would wait on itself). A failure is an unhandled rejection: the worker's error event.
if (!isMainThread && data?.shardgateOperator) void workerMain(data);
