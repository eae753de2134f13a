/**
 * The bridge's connection to the copy of its stdio server that speaks
 * 2026-07-28 (modern.ts): requests with the bridge's own ids, a per-request
 * deadline and an answer-size limit shared with the 2025 multiplexer
 * (answers.ts, routes.ts, lines.ts), progress by token, and log lines to the
 * request they belong to.
 *
 * Log lines on stdio name no request. At 2026-07-28 a server sends
 * `notifications/message` only for a request whose envelope asked for a log
 * level, so the bridge lets one such request at a time reach the child (the
 * log lane); others queue behind it, and every log line has one owner.
 * Requests that asked for no logs never wait.
 */
import { LOG_LEVEL_META_KEY, ProtocolError, type ServerContext } from "@modelcontextprotocol/server";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { rpcError } from "../errors/index.ts";
import { answerTooLargeError, timeoutError } from "./answers.ts";
import {
  DEFAULT_MAX_LINE_BYTES,
  describeExit,
  startChild,
  type ChildCommand,
  type StdioChild,
} from "./child.ts";
import { idOfOversized, type OversizedLine } from "./lines.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "./options.ts";
import { RoutingTable, type Outcome } from "./routes.ts";

export interface ModernChildOptions extends ChildCommand {
  /** Longest stdout line (one message) taken from the child. @default DEFAULT_MAX_LINE_BYTES */
  readonly maxLineBytes?: number;
  /** How long a request waits for the child's answer. @default DEFAULT_REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
  /** A notification that belongs to no request (list changes, resource updates, listen acks). */
  readonly onNotification: (method: string, params: Record<string, unknown>) => void;
  /** A new child process started (listen streams must be opened again). */
  readonly onSpawn?: () => void;
}

type RpcError = { code: number; message: string; data?: unknown };

interface Call {
  /** Where the child's progress for this request goes. */
  readonly progressToken: unknown;
  readonly ctx: ServerContext | undefined;
  /** The request asked for log lines (it holds the log lane). */
  readonly logs: boolean;
  /** Ends the caller's wait (called once, after the routing table let go of the id). */
  readonly done: (outcome: Outcome) => void;
}

export class ModernChild {
  readonly #opts: ModernChildOptions;
  readonly #routes = new RoutingTable<never>();
  readonly #calls = new Map<number, Call>();
  readonly #logLane = new Lane();
  #child: StdioChild | undefined;
  #stopped = false;

  constructor(options: ModernChildOptions) {
    this.#opts = options;
  }

  get #timeoutMs(): number {
    return this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** Starts the process if it is not running (after an exit, on the next request). */
  ensureRunning(): void {
    if (this.#child || this.#stopped) return;
    const child = startChild({
      command: this.#opts.command,
      args: this.#opts.args,
      ...(this.#opts.env ? { env: this.#opts.env } : {}),
      ...(this.#opts.cwd ? { cwd: this.#opts.cwd } : {}),
      logger: this.#opts.logger,
      maxLineBytes: this.#opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
      onMessage: (message) => this.#onMessage(message),
      onOversized: (line) => this.#onOversized(line),
      onExit: (exit) => {
        if (this.#child === child) this.#child = undefined;
        const reason = describeExit(exit);
        const error = rpcError("serverExited", `the stdio server ${reason} before answering`);
        for (const id of this.#routes.allIds()) this.#settle(id, { error });
        if (!this.#stopped)
          this.#opts.logger.warn(
            { exit: reason },
            "2026-07-28 stdio server stopped; restarting on the next request",
          );
      },
    });
    this.#child = child;
    this.#opts.onSpawn?.();
  }

  send(message: JSONRPCMessage): boolean {
    return this.#child?.send(message) ?? false;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#child?.stop();
    this.#child = undefined;
  }

  /** One request to the child; its progress (and its log lines, if it asked) go to `ctx`. */
  async call(
    method: string,
    params: Record<string, unknown>,
    ctx: ServerContext | undefined,
    timeoutMs = this.#timeoutMs,
  ): Promise<Record<string, unknown>> {
    const meta = params._meta as Record<string, unknown> | undefined;
    const logs = meta?.[LOG_LEVEL_META_KEY] !== undefined;
    const release = logs ? await this.#logLane.acquire(ctx?.mcpReq.signal) : undefined;
    try {
      return await this.#send(method, params, ctx, timeoutMs, logs);
    } finally {
      release?.();
    }
  }

  #send(
    method: string,
    params: Record<string, unknown>,
    ctx: ServerContext | undefined,
    timeoutMs: number,
    logs: boolean,
  ): Promise<Record<string, unknown>> {
    this.ensureRunning();
    return new Promise((resolve, reject) => {
      const signal = ctx?.mcpReq.signal;
      const onAbort = () => {
        if (this.#settle(id, { error: rpcError("connectionClosed", "the client cancelled") }))
          this.#cancelInChild(id, "client cancelled");
      };
      const id = this.#routes.addInternal(
        () => undefined,
        timeoutMs,
        () => {
          this.#calls.get(id)?.done({ error: timeoutError(method, timeoutMs) });
          this.#cancelInChild(id, "the bridge's request timeout passed");
        },
      );
      const done = (outcome: Outcome) => {
        signal?.removeEventListener("abort", onAbort);
        this.#calls.delete(id);
        if ("error" in outcome) {
          const { code, message, data } = outcome.error;
          reject(new ProtocolError(code, message, data));
        } else resolve((outcome.result ?? {}) as Record<string, unknown>);
      };
      const progressToken = (params._meta as { progressToken?: unknown } | undefined)?.progressToken;
      this.#calls.set(id, { progressToken, ctx, logs, done });
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      if (!this.send({ jsonrpc: "2.0", id, method, params }))
        this.#settle(id, { error: rpcError("serverExited", "the stdio server is not running") });
    });
  }

  /** Ends request `id` with `outcome`; false when it had ended already. */
  #settle(id: number, outcome: Outcome): boolean {
    if (!this.#routes.take(id, "error" in outcome ? "error" : "success")) return false;
    this.#calls.get(id)?.done(outcome);
    return true;
  }

  #cancelInChild(id: number, reason: string): void {
    this.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason } });
  }

  #onOversized(line: OversizedLine): void {
    const id = idOfOversized(line);
    const answered =
      id !== undefined && this.#settle(id, { error: answerTooLargeError(line.bytes, this.#maxLineBytes) });
    this.#opts.logger.warn(
      { bytes: line.bytes, maxLineBytes: this.#maxLineBytes, answered },
      "dropped a stdout line longer than the limit",
    );
  }

  get #maxLineBytes(): number {
    return this.#opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  #onMessage(message: JSONRPCMessage): void {
    const m = message as {
      id?: string | number;
      method?: string;
      params?: Record<string, unknown>;
      result?: Record<string, unknown>;
      error?: RpcError;
    };
    if (m.method === undefined) {
      // Answers to the bridge's listen requests (string ids) end nothing.
      if (typeof m.id === "number")
        this.#settle(m.id, m.error ? { error: m.error } : { result: m.result ?? {} });
      return;
    }
    if (m.id !== undefined) {
      // A 2026 connection has no server-to-client requests: refuse rather than hang the child.
      this.send({
        jsonrpc: "2.0",
        id: m.id,
        error: rpcError("methodNotFound", "no server-to-client requests on a 2026-07-28 connection"),
      });
      return;
    }
    const params = m.params ?? {};
    const owner = this.#ownerOf(m.method, params);
    if (owner) void owner.mcpReq.notify({ method: m.method, params }).catch(() => undefined);
    else if (m.method !== "notifications/progress" && m.method !== "notifications/message")
      this.#opts.onNotification(m.method, params);
  }

  /** The request a progress or log notification belongs to. */
  #ownerOf(method: string, params: Record<string, unknown>): ServerContext | undefined {
    for (const call of this.#calls.values()) {
      if (method === "notifications/progress" && call.progressToken === params.progressToken) return call.ctx;
      if (method === "notifications/message" && call.logs) return call.ctx;
    }
    return undefined;
  }
}

/** One holder at a time, the others in arrival order; a waiter whose signal aborts leaves the queue. */
class Lane {
  #busy = false;
  readonly #waiters: (() => void)[] = [];

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.#busy) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          this.#waiters.splice(this.#waiters.indexOf(wake), 1);
          reject(new ProtocolError(rpcError("connectionClosed").code, "the client cancelled"));
        };
        this.#waiters.push(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    this.#busy = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#busy = false;
    };
  }
}
