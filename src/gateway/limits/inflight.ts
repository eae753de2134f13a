/**
 * Caps on the calls one session and one key may have running at once. A call
 * over a cap is refused at once with a clear error instead of queueing: the
 * shard's own semaphore already queues, and a queue per caller would only
 * move the pile-up (one 2025-03-26 batch used to fan out to 5,000 upstream
 * calls and made everyone else wait).
 */
import { GatewayError } from "../errors.ts";

export interface InFlightCaps {
  /** Calls one session may have running. @default 64 */
  readonly perSession?: number;
  /** Calls one API key may have running, over all its sessions and doors. @default 256 */
  readonly perKey?: number;
}

export const DEFAULT_IN_FLIGHT_PER_SESSION = 64;
export const DEFAULT_IN_FLIGHT_PER_KEY = 256;

export class InFlightLimits {
  readonly #perSession: number;
  readonly #perKey: number;
  readonly #sessions = new Map<string, number>();
  readonly #keys = new Map<string, number>();

  constructor(caps: InFlightCaps = {}) {
    this.#perSession = caps.perSession ?? DEFAULT_IN_FLIGHT_PER_SESSION;
    this.#perKey = caps.perKey ?? DEFAULT_IN_FLIGHT_PER_KEY;
  }

  /**
   * Counts one call of `key` (and of `session`, when the door has sessions);
   * returns its release, or throws `tooManyCalls` naming the cap.
   */
  acquire(key: string, session: string | undefined): () => void {
    const byKey = this.#keys.get(key) ?? 0;
    if (byKey >= this.#perKey)
      throw new GatewayError(
        "tooManyCalls",
        `key ${key} already has ${byKey} calls in flight (limit ${this.#perKey}); retry when some finish`,
      );
    const bySession = session === undefined ? 0 : (this.#sessions.get(session) ?? 0);
    if (session !== undefined && bySession >= this.#perSession)
      throw new GatewayError(
        "tooManyCalls",
        `this session already has ${bySession} calls in flight (limit ${this.#perSession}); retry when some finish`,
      );
    this.#keys.set(key, byKey + 1);
    if (session !== undefined) this.#sessions.set(session, bySession + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      decrement(this.#keys, key);
      if (session !== undefined) decrement(this.#sessions, session);
    };
  }
}

/** Entries at zero are removed, so the maps hold only callers with work running. */
function decrement(counts: Map<string, number>, id: string): void {
  const n = (counts.get(id) ?? 1) - 1;
  if (n <= 0) counts.delete(id);
  else counts.set(id, n);
}
