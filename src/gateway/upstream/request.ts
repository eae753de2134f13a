/**
 * Relaying one request to a shard under its policy: the concurrency limit
 * (queued), the call's timeout, one transparent new session when the shard
 * lost the gateway's (404) or the credentials changed (401), the call's
 * channel for what the shard says during it (relay.ts), the era the request
 * goes in, and the translation of what went wrong into the caller's error.
 */
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError, type LoggingMessageNotification, type Progress } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../log.ts";
import { CODES, GatewayError } from "../errors.ts";
import type { ShardConnection } from "./connection.ts";
import { translateUpstreamError } from "./errors.ts";
import { ModernShardClient } from "./modern-client.ts";
import { callChannel, type CallChannel } from "./relay.ts";
import { Semaphore } from "./semaphore.ts";
import type { CallOptions, ModernCaller, RunOptions, ShardClient } from "./types.ts";

export class RequestRunner {
  readonly #conn: ShardConnection;
  readonly #logger: Logger;
  readonly #semaphore: Semaphore;

  constructor(conn: ShardConnection, logger: Logger) {
    this.#conn = conn;
    this.#logger = logger;
    this.#semaphore = new Semaphore(conn.target.policy.maxConcurrentCalls);
  }

  /** Requests waiting for a free slot under the shard's concurrency limit. */
  get queued(): number {
    return this.#semaphore.queued;
  }

  /** Runs one request against the shard under its policy (see the file comment). */
  async run<T>(
    label: string,
    fn: (client: ShardClient, options: RunOptions) => Promise<T>,
    options: CallOptions = {},
  ): Promise<T> {
    const shard = this.#conn.target;
    const timeoutMs = shard.policy.timeoutSeconds * 1000;
    // One controller and one timer per call (AbortSignal.any and
    // AbortSignal.timeout cost more, and keep listeners until collected).
    const controller = new AbortController();
    const signal = controller.signal;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    // The caller going away and the drain's end cancel alike.
    const caller = options.signal;
    const shutdown = options.shutdown;
    const onCallerAbort = () => controller.abort(caller?.reason);
    const onShutdown = () => controller.abort(shutdown?.reason);
    if (caller?.aborted) onCallerAbort();
    else if (shutdown?.aborted) onShutdown();
    else {
      caller?.addEventListener("abort", onCallerAbort, { once: true });
      shutdown?.addEventListener("abort", onShutdown, { once: true });
    }
    /** Whichever cancelled the call first: what the caller's error says. */
    const cancelledBy = () => (caller?.aborted || !shutdown?.aborted ? caller : shutdown);
    let release: (() => void) | undefined;
    try {
      try {
        release = await this.#semaphore.acquire(signal);
      } catch (error) {
        if (timedOut)
          throw new GatewayError(
            "timeout",
            `${label}: shard ${shard.key} is busy; timed out in its queue after ${timeoutMs} ms`,
          );
        throw error;
      }
      const channel = this.#channel(label, options, signal);
      for (let attempt = 0; ; attempt++) {
        const client = await this.#conn.ensureClient();
        try {
          const result = await callChannel.run(channel, () =>
            fn(client, { timeout: timeoutMs, signal, onprogress: options.onprogress }),
          );
          this.#conn.lastSeen = new Date();
          return result;
        } catch (error) {
          // 404: the shard lost the session; 401: the credentials changed (a
          // rotated Secret): a new session, with auth resolved again, once.
          if (
            error instanceof StreamableHTTPError &&
            (error.code === 404 || error.code === 401) &&
            attempt === 0
          ) {
            this.#logger.info(
              { shard: shard.key, status: error.code },
              "shard refused the gateway's session; re-initialising",
            );
            this.#conn.drop();
            continue;
          }
          throw this.#translate(label, error, timeoutMs, cancelledBy(), timedOut, client);
        }
      }
    } finally {
      release?.();
      clearTimeout(timer);
      caller?.removeEventListener("abort", onCallerAbort);
      shutdown?.removeEventListener("abort", onShutdown);
    }
  }

  /** Where the shard's messages about this call go (see relay.ts). */
  #channel(label: string, options: CallOptions, signal: AbortSignal): CallChannel {
    return {
      notify: (message) => {
        const params = (message.params ?? {}) as Record<string, unknown>;
        if (message.method === "notifications/progress") {
          const { progressToken: _token, _meta: _m, ...progress } = params;
          options.onprogress?.(progress as unknown as Progress);
        } else options.onlog?.(params as LoggingMessageNotification["params"]);
      },
      request: async (message) => {
        if (!options.onrequest)
          throw new McpError(
            CODES.methodNotFound.code,
            `shardgate: the client of ${label} cannot take ${message.method} on this transport`,
          );
        return options.onrequest(message.method, message.params, signal);
      },
    };
  }

  /**
   * One request in the shard's era; a 2026-07-28 caller (`modern`) goes to
   * the shard's 2026-07-28 side when it has one, and gets `input_required`
   * answers as they are.
   */
  async ask<T>(
    client: ShardClient,
    method: string,
    params: Record<string, unknown>,
    schema: { parse(value: unknown): T },
    o: RunOptions,
    modern?: ModernCaller,
  ): Promise<T> {
    const side = this.#conn.modernSide;
    const target = modern && side ? side : client;
    if (!(target instanceof ModernShardClient)) return target.request({ method, params }, schema as never, o);
    const result = await target.request(method, params, {
      signal: o.signal,
      onprogress: o.onprogress as ((p: Record<string, unknown>) => void) | undefined,
      passInputs: modern !== undefined,
      capabilities: modern?.capabilities,
    });
    return result.resultType === "input_required" ? (result as T) : schema.parse(result);
  }

  #translate(
    label: string,
    error: unknown,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
    timedOut: boolean,
    client: ShardClient,
  ): Error {
    const translated = translateUpstreamError({
      label,
      error,
      shard: this.#conn.target.key,
      maxResultBytes: this.#conn.target.policy.maxResultBytes,
      timeoutMs,
      callerSignal,
      timedOut,
    });
    if (translated.connectionLost) this.#conn.lost(error, client);
    return translated.error;
  }
}
