/**
 * A 2025-era shard asks the client mid-call (elicitation/create,
 * sampling/createMessage, roots/list); a 2026-07-28 client can only be asked
 * with an `input_required` result and answers by retrying the request with
 * `inputResponses`. In between, the upstream call waits here, under a random
 * `requestState` bound to the key that made the call. The retry must reach
 * this replica: elsewhere, or after `waitMs`, the state is unknown and the
 * client gets -32602 "Invalid or expired requestState" (ARCHITECTURE.md).
 */
import { randomBytes } from "node:crypto";
import type { Result } from "@modelcontextprotocol/sdk/types.js";
import { GatewayError } from "../errors.ts";

type RequestFn = (
  method: string,
  params: Record<string, unknown> | undefined,
  signal: AbortSignal,
) => Promise<Result>;

interface Waiting {
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
  resolve(result: Result): void;
}

interface Suspended {
  readonly principal: string;
  readonly controller: AbortController;
  result: Promise<Result>;
  readonly waiting: Map<string, Waiting>;
  wake?: () => void;
  /** Ends the current round with an error, and the call with it. */
  fail?: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

/** Requests a shard sends together (within this window) go out in one input_required result. */
const BATCH_MS = 5;
const KEYS: Record<string, string> = {
  "elicitation/create": "elicitation",
  "sampling/createMessage": "sampling",
  "roots/list": "roots",
};

export interface RunInput {
  readonly principal: string;
  /** The echoed requestState of a retry. */
  readonly state: string | undefined;
  readonly responses: Record<string, unknown> | undefined;
  /** This round's HTTP request: a client that goes away ends the call. */
  readonly signal: AbortSignal;
  /** Starts the call; `request` asks the client through input_required. */
  readonly start: (request: RequestFn, signal: AbortSignal) => Promise<Record<string, unknown>>;
  /**
   * The error for a request the client cannot take (a capability it did not
   * declare): it ends the whole call, since on 2026-07-28 the client must hear
   * it (-32021), not the shard.
   */
  readonly refuse?: (method: string, params: Record<string, unknown> | undefined) => Error | undefined;
}

export class PendingInputs {
  #byState = new Map<string, Suspended>();
  #waitMs: number;

  constructor(waitMs: number) {
    this.#waitMs = waitMs;
  }

  get size(): number {
    return this.#byState.size;
  }

  async run(input: RunInput): Promise<Result> {
    let call: Suspended;
    if (input.state !== undefined) {
      const found = this.#byState.get(input.state);
      if (!found || found.principal !== input.principal)
        throw new GatewayError(
          "invalidParams",
          "Invalid or expired requestState: no call is waiting for it at this replica (a retry must reach the replica that answered input_required, within its wait time)",
        );
      this.#byState.delete(input.state);
      clearTimeout(found.timer);
      call = found;
      for (const [key, waiting] of call.waiting) {
        const response = input.responses?.[key];
        if (response === undefined) continue;
        call.waiting.delete(key);
        waiting.resolve(response as Result);
      }
    } else {
      const controller = new AbortController();
      const waiting = new Map<string, Waiting>();
      call = { principal: input.principal, controller, waiting, result: Promise.resolve({}) };
      const suspended = call;
      const request: RequestFn = (method, params, signal) =>
        new Promise<Result>((resolve, reject) => {
          const refused = input.refuse?.(method, params);
          if (refused) {
            suspended.controller.abort(refused);
            suspended.fail?.(refused);
            reject(refused);
            return;
          }
          const base = KEYS[method] ?? method.replace(/\W+/g, "_");
          let key = base;
          for (let i = 2; waiting.has(key); i++) key = `${base}_${i}`;
          const onAbort = () => {
            waiting.delete(key);
            reject(signal.reason instanceof Error ? signal.reason : new Error("call cancelled"));
          };
          signal.addEventListener("abort", onAbort, { once: true });
          waiting.set(key, {
            method,
            params,
            resolve: (result) => {
              signal.removeEventListener("abort", onAbort);
              resolve(result);
            },
          });
          suspended.wake?.();
        });
      call.result = input.start(request, controller.signal);
      call.result.catch(() => undefined); // each round observes it; none may go unhandled
    }
    return this.#round(call, input.signal);
  }

  /** Until the call ends (its result) or asks the client (an input_required result). */
  #round(call: Suspended, signal: AbortSignal): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      let settled = false;
      let batch: NodeJS.Timeout | undefined;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(batch);
        call.wake = undefined;
        call.fail = undefined;
        signal.removeEventListener("abort", onAbort);
        fn();
      };
      const onAbort = () =>
        finish(() => {
          call.controller.abort(new Error("client went away"));
          reject(signal.reason instanceof Error ? signal.reason : new Error("client went away"));
        });
      signal.addEventListener("abort", onAbort, { once: true });
      call.result.then(
        (result) => finish(() => resolve(result)),
        (error: unknown) => finish(() => reject(error instanceof Error ? error : new Error(String(error)))),
      );
      call.fail = (error) => finish(() => reject(error));
      call.wake = () => {
        if (batch !== undefined || call.waiting.size === 0) return;
        batch = setTimeout(() => finish(() => resolve(this.#suspend(call))), BATCH_MS);
      };
      call.wake();
    });
  }

  #suspend(call: Suspended): Result {
    const state = randomBytes(18).toString("base64url");
    this.#byState.set(state, call);
    call.timer = setTimeout(() => {
      this.#byState.delete(state);
      call.controller.abort(new GatewayError("timeout", "the client did not answer input_required in time"));
    }, this.#waitMs);
    call.timer.unref();
    const inputRequests = Object.fromEntries(
      [...call.waiting].map(([key, w]) => [
        key,
        { method: w.method, ...(w.params ? { params: w.params } : {}) },
      ]),
    );
    return { resultType: "input_required", inputRequests, requestState: state };
  }

  close(): void {
    for (const call of this.#byState.values()) {
      clearTimeout(call.timer);
      call.controller.abort(new GatewayError("shuttingDown", "gateway shutting down"));
    }
    this.#byState.clear();
  }
}
