/**
 * One stdio MCP server process: newline-delimited JSON-RPC on stdin/stdout,
 * stderr lines forwarded to the log. Restarting is the supervisor's decision.
 *
 * Memory stays bounded whatever the child writes: stdout lines longer than
 * `maxLineBytes` are dropped as they arrive (the bridge answers the caller
 * with an error), stderr lines are cut at `STDERR_LINE_BYTES` for the log,
 * and lines that are not JSON-RPC are counted and logged at most once a
 * second, since logging each line of a flood would queue it all in the logger.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../log.ts";
import { LineSplitter, type OversizedLine } from "./lines.ts";

/** @default 16 MiB: a 12 MB result passes; memory per line stays bounded. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Longest stderr line logged whole; a longer one is logged by its start and length. */
export const STDERR_LINE_BYTES = 16 * 1024;

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  readonly error?: Error;
}

/** The stdio server to run, as the bridge's callers name it. */
export interface ChildCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default process.cwd() */
  readonly cwd?: string;
  readonly logger: Logger;
}

export interface StdioChildOptions extends ChildCommand {
  /** Longest stdout line (one JSON-RPC message) taken. @default DEFAULT_MAX_LINE_BYTES */
  readonly maxLineBytes?: number;
  readonly onMessage: (message: JSONRPCMessage) => void;
  /** A stdout line longer than `maxLineBytes`, dropped. @default logged only */
  readonly onOversized?: (line: OversizedLine) => void;
  /** Called exactly once per process. */
  readonly onExit: (exit: ChildExit) => void;
}

export function describeExit(exit: ChildExit): string {
  if (exit.error) return `could not start: ${exit.error.message}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

export interface StdioChild {
  readonly pid: number | undefined;
  /** False when the process is gone or its stdin is closed. */
  send(message: JSONRPCMessage): boolean;
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves once the process has exited. */
  stop(killAfterMs?: number): Promise<void>;
}

export function startChild(options: StdioChildOptions): StdioChild {
  const { logger } = options;
  const proc: ChildProcess = spawn(options.command, [...options.args], {
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    const finish = (exit: ChildExit) => {
      if (exited) return;
      exited = true;
      resolve();
      options.onExit(exit);
    };
    proc.once("error", (error) => {
      // 'error' without a pid means spawn itself failed; no 'exit' follows.
      if (proc.pid === undefined) finish({ code: null, signal: null, error });
      else logger.warn({ err: error }, "stdio server process error");
    });
    // 'close' (not 'exit') so the last stdout lines are read before we report.
    proc.once("close", (code, signal) => finish({ code, signal }));
  });

  const stdout = new LineSplitter({
    maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    onLine: (line) => {
      const message = parseMessage(line);
      if (message) options.onMessage(message);
      else if (line.trim() !== "") junk.count(line);
    },
    onOversized:
      options.onOversized ??
      ((line) => logger.warn({ bytes: line.bytes }, "dropped a stdout line longer than the limit")),
  });
  const junk = new RateLimitedWarning(logger, "ignoring stdout lines that are not JSON-RPC");
  readPaced(proc.stdout, stdout);
  const stderr = new LineSplitter({
    maxLineBytes: STDERR_LINE_BYTES,
    onLine: (line) => logger.info({ stream: "stderr" }, line),
    onOversized: (line) =>
      logger.info({ stream: "stderr", bytes: line.bytes, truncated: true }, `${line.head}…`),
  });
  readPaced(proc.stderr, stderr);
  proc.stdin?.on("error", (error) => logger.debug({ err: error }, "stdin closed"));

  return {
    get pid() {
      return proc.pid;
    },
    send(message) {
      if (exited || !proc.stdin || proc.stdin.destroyed || !proc.stdin.writable) return false;
      proc.stdin.write(`${JSON.stringify(message)}\n`);
      return true;
    },
    async stop(killAfterMs = 2000) {
      if (exited) return;
      proc.stdin?.end();
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), killAfterMs);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

/**
 * Feeds a pipe to a splitter, yielding to the event loop after every chunk.
 * Each read is a fresh 64 KiB buffer outside the JS heap, freed only by V8's
 * incremental marking, whose steps run as event-loop tasks: a child writing
 * without pause kept the loop busy with reads and the garbage piled up (peak
 * RSS +180 MiB for 300 MB of stderr); paced, it stays at V8's own step.
 */
function readPaced(stream: NodeJS.ReadableStream | null, splitter: LineSplitter): void {
  if (!stream) return;
  stream.on("data", (chunk: Buffer) => {
    splitter.push(chunk);
    stream.pause();
    setImmediate(() => stream.resume());
  });
  stream.on("end", () => splitter.end());
}

function parseMessage(line: string): JSONRPCMessage | undefined {
  // Most junk (a server printing its banner to stdout) is not an object: skip the throwing parse.
  if (!line.trimStart().startsWith("{")) return undefined;
  try {
    const parsed = JSONRPCMessageSchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** One warning per second at most, with how many lines it stands for. */
class RateLimitedWarning {
  readonly #logger: Logger;
  readonly #message: string;
  #suppressed = 0;
  #last = 0;

  constructor(logger: Logger, message: string) {
    this.#logger = logger;
    this.#message = message;
  }

  count(sample: string): void {
    const now = Date.now();
    if (now - this.#last < 1000) {
      this.#suppressed++;
      return;
    }
    this.#logger.warn({ sample: sample.slice(0, 200), alsoSince: this.#suppressed }, this.#message);
    this.#suppressed = 0;
    this.#last = now;
  }
}
