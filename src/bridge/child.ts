/**
 * One stdio MCP server process: newline-delimited JSON-RPC on stdin/stdout,
 * stderr lines forwarded to the log. Restarting is the bridge's decision.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../log.ts";

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  readonly error?: Error;
}

export interface StdioChildOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default process.cwd() */
  readonly cwd?: string;
  readonly logger: Logger;
  readonly onMessage: (message: JSONRPCMessage) => void;
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

  const buffer = new ReadBuffer();
  proc.stdout?.on("data", (chunk: Buffer) => {
    try {
      buffer.append(chunk);
    } catch (error) {
      logger.warn({ err: error }, "dropping oversized stdout");
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = buffer.readMessage();
      } catch (error) {
        logger.warn({ err: error }, "ignoring a stdout line that is not JSON-RPC");
        continue;
      }
      if (message === null) break;
      options.onMessage(message);
    }
  });
  if (proc.stderr) {
    createInterface({ input: proc.stderr }).on("line", (line) => logger.info({ stream: "stderr" }, line));
  }
  proc.stdin?.on("error", (error) => logger.debug({ err: error }, "stdin closed"));

  return {
    get pid() {
      return proc.pid;
    },
    send(message) {
      if (exited || !proc.stdin || proc.stdin.destroyed || !proc.stdin.writable) return false;
      proc.stdin.write(serializeMessage(message));
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
