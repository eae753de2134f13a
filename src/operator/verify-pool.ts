/**
 * Verifications run here, not on reconcile workers: a handshake with a slow
 * or silent shard takes up to the verify timeout, and a worker waiting on it
 * would hold up every other shard's children and status. A reconcile asks
 * for a verification and returns; when it finishes, the pool calls `onDone`
 * with the key (the operator enqueues it) and the next reconcile reads the
 * result. At most `concurrency` run at once; a key is verified at most once
 * at a time, and asking again while it runs changes nothing.
 */
import { BoundedRunner } from "./bounded-runner.ts";
import type { VerifyResult } from "./verify.ts";
import { messageOf } from "../util/index.ts";

export interface VerificationMemo {
  /** What was verified (URL, transport, auth, generation): a different one means "not verified yet". */
  readonly fingerprint: string;
  /** Date.now() when it finished. */
  readonly at: number;
  readonly result: VerifyResult;
  /** Failed results in a row for this fingerprint (0 after a success): paces the retries. */
  readonly failures: number;
}

export interface VerifyPoolOptions {
  /** Verifications running at once. @default 16 */
  readonly concurrency?: number;
  /** A verification of `key` finished and its memo is stored. */
  readonly onDone: (key: string) => void;
}

interface Waiting {
  readonly key: string;
  fingerprint: string;
  run: () => Promise<VerifyResult>;
}

export class VerifyPool extends BoundedRunner<Waiting> {
  readonly #onDone: (key: string) => void;
  readonly #memos = new Map<string, VerificationMemo>();
  /** Keys running or waiting, with what they verify. */
  readonly #pending = new Map<string, string>();

  constructor(options: VerifyPoolOptions) {
    super(options.concurrency ?? 16);
    this.#onDone = options.onDone;
  }

  /** The last finished verification of `key`, whatever its fingerprint. */
  memo(key: string): VerificationMemo | undefined {
    return this.#memos.get(key);
  }

  /** Is a verification of `key` with this fingerprint queued or running? */
  isPending(key: string, fingerprint: string): boolean {
    return this.#pending.get(key) === fingerprint;
  }

  /** Queues a verification unless the same one is already queued or running. */
  request(key: string, fingerprint: string, run: () => Promise<VerifyResult>): void {
    if (this.closed || this.#pending.get(key) === fingerprint) return;
    const queued = this.#pending.has(key);
    this.#pending.set(key, fingerprint);
    if (queued) {
      // Still waiting: verify the new fingerprint in the same place in line.
      const entry = this.waitingFor(key);
      if (entry) {
        entry.fingerprint = fingerprint;
        entry.run = run;
        return;
      }
      // Running with an old fingerprint: it finishes, then this one waits its turn.
    }
    this.enqueue({ key, fingerprint, run });
  }

  /** The shard is gone: drop its memo (a running verification may still finish and is ignored). */
  forget(key: string): void {
    this.#memos.delete(key);
    this.#pending.delete(key);
    this.dropWaiting(key);
  }

  protected override async start({ key, fingerprint, run }: Waiting): Promise<void> {
    let result: VerifyResult;
    try {
      result = await run();
    } catch (error) {
      // verifyShard never throws; a custom verifier might.
      result = {
        ok: false,
        reason: "VerificationFailed",
        message: messageOf(error),
      };
    }
    const stillWanted = this.#pending.get(key) === fingerprint;
    if (stillWanted) this.#pending.delete(key);
    if (this.closed) return;
    // A forgotten key (shard deleted) keeps no memo; a superseded fingerprint's result is still the latest fact.
    if (stillWanted || this.#pending.has(key)) {
      const previous = this.#memos.get(key);
      const failedBefore = previous?.fingerprint === fingerprint ? previous.failures : 0;
      const failures = result.ok ? 0 : failedBefore + 1;
      this.#memos.set(key, { fingerprint, at: Date.now(), result, failures });
    }
    this.#onDone(key);
  }
}
