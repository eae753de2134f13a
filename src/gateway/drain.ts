/**
 * The replica's shutdown state and the work it must not lose. A drain goes
 * serving → unready (/ready says 503, everything else still served, so that
 * endpoint removal can propagate) → draining (new requests refused with 503,
 * work in flight runs on) → stopped. Work in flight is counted by whoever
 * starts it (an HTTP request, a legacy-SSE call answered on its stream);
 * calls still running when the grace period ends are aborted through
 * `signal`, whose reason is the error their callers receive.
 */
import { GatewayError } from "./errors.ts";

export type DrainPhase = "serving" | "unready" | "draining" | "stopped";

/** The message every caller refused or cancelled by a drain reads. */
export const SHUTTING_DOWN_MESSAGE = "gateway shutting down: retry, another replica will answer";

export class Drain {
  #phase: DrainPhase = "serving";
  #inFlight = 0;
  #idle = new Set<() => void>();
  #abort = new AbortController();

  get phase(): DrainPhase {
    return this.#phase;
  }

  /** False from the first signal on: the readiness probe takes the replica out of rotation. */
  get ready(): boolean {
    return this.#phase === "serving";
  }

  /** False once new work is refused. */
  get accepting(): boolean {
    return this.#phase === "serving" || this.#phase === "unready";
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Aborted when the grace period ends; the reason is a GatewayError (shuttingDown). */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Counts one piece of work; the returned function (idempotent) says it is done. */
  track(): () => void {
    this.#inFlight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inFlight--;
      if (this.#inFlight === 0) for (const wake of [...this.#idle]) wake();
    };
  }

  markUnready(): void {
    if (this.#phase === "serving") this.#phase = "unready";
  }

  stopAccepting(): void {
    if (this.accepting) this.#phase = "draining";
  }

  markStopped(): void {
    this.#phase = "stopped";
  }

  /** Cancels every call still running (their callers get the shutdown error). */
  abortInFlight(): void {
    if (!this.#abort.signal.aborted)
      this.#abort.abort(new GatewayError("shuttingDown", SHUTTING_DOWN_MESSAGE));
  }

  /** Resolves true once nothing is in flight, false if `timeoutMs` passes first. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#idle.delete(wake);
        resolve(this.#inFlight === 0);
      };
      const timer = setTimeout(wake, Math.max(0, timeoutMs));
      this.#idle.add(wake);
    });
  }
}
