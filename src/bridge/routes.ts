/**
 * The bridge's id-routing table. Every request the bridge sends the child gets
 * a fresh numeric id (and a fresh progress token), so the child's answers and
 * progress find the session and request they belong to; server-to-client
 * requests from the child get a `bridge-N` id on the session they go to.
 *
 * An entry leaves the table in exactly one place, `take()`, whatever ends it
 * (the answer, the child's exit, a cancel, the session going away, the
 * timeout): its progress route and its timer go with it, and a tool call's
 * metric is finished with the outcome the caller names.
 */
import type { RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { ToolOutcome } from "../shard-kit/metrics.ts";

export type Outcome = { result: unknown } | { error: { code: number; message: string; data?: unknown } };

/** A downstream request forwarded to the child. */
export interface Forwarded<S> {
  readonly kind: "forwarded";
  readonly session: S;
  readonly originalId: RequestId;
  readonly method: string;
  /** The token the bridge put in the forwarded request, when the caller asked for progress. */
  readonly progressToken?: string;
  readonly finish?: (outcome: ToolOutcome) => void;
}

/** A request of the bridge's own (initialize, lists, subscriptions). */
export interface Internal {
  readonly kind: "internal";
  readonly resolve: (outcome: Outcome) => void;
}

export type Pending<S> = Forwarded<S> | Internal;

/** Where the child's progress notifications for one forwarded request go. */
export interface ProgressRoute<S> {
  readonly session: S;
  readonly token: string | number;
  readonly requestId: RequestId;
}

/** A server-to-client request of the child, waiting for a session's answer. */
export interface ChildRequest<S> {
  readonly childId: RequestId;
  readonly method: string;
  readonly session: S;
}

export interface ForwardOptions<S> {
  readonly session: S;
  readonly originalId: RequestId;
  readonly method: string;
  /** The caller's own progress token, if it asked for progress. */
  readonly callerProgressToken?: string | number;
  readonly finish?: (outcome: ToolOutcome) => void;
  /** Called (after `take`) when the child has not answered within `timeoutMs`. */
  readonly onTimeout: (bridgeId: number, entry: Forwarded<S>) => void;
  readonly timeoutMs: number;
}

export class RoutingTable<S> {
  #nextId = 1;
  readonly #pending = new Map<number, Pending<S>>();
  readonly #timers = new Map<number, NodeJS.Timeout>();
  readonly #progress = new Map<string, ProgressRoute<S>>();
  readonly #childRequests = new Map<string, ChildRequest<S>>();

  /** A fresh id, also used for `bridge-N` ids and progress tokens (never reused in a process). */
  nextId(): number {
    return this.#nextId++;
  }

  /** A request of the bridge's own; `onTimeout` runs (after `take`) when unanswered after `timeoutMs`. */
  addInternal(resolve: (outcome: Outcome) => void, timeoutMs: number, onTimeout: () => void): number {
    const id = this.nextId();
    this.#pending.set(id, { kind: "internal", resolve });
    this.#arm(id, timeoutMs, onTimeout);
    return id;
  }

  #arm(id: number, timeoutMs: number, onTimeout: () => void): void {
    const timer = setTimeout(() => {
      if (this.take(id, "error")) onTimeout();
    }, timeoutMs);
    timer.unref();
    this.#timers.set(id, timer);
  }

  /** Registers a forwarded request; returns its id and the progress token to send the child. */
  addForwarded(options: ForwardOptions<S>): { bridgeId: number; progressToken?: string } {
    const bridgeId = this.nextId();
    const progressToken = options.callerProgressToken === undefined ? undefined : `p${bridgeId}`;
    const entry: Forwarded<S> = {
      kind: "forwarded",
      session: options.session,
      originalId: options.originalId,
      method: options.method,
      ...(progressToken ? { progressToken } : {}),
      ...(options.finish ? { finish: options.finish } : {}),
    };
    this.#pending.set(bridgeId, entry);
    if (progressToken) {
      this.#progress.set(progressToken, {
        session: options.session,
        token: options.callerProgressToken!,
        requestId: options.originalId,
      });
    }
    this.#arm(bridgeId, options.timeoutMs, () => options.onTimeout(bridgeId, entry));
    return { bridgeId, ...(progressToken ? { progressToken } : {}) };
  }

  /**
   * Removes a request with everything that routes to it; a forwarded tool
   * call's metric ends with `outcome`. Undefined when it was gone already.
   */
  take(bridgeId: number, outcome: ToolOutcome): Pending<S> | undefined {
    const entry = this.#pending.get(bridgeId);
    if (!entry) return undefined;
    this.#pending.delete(bridgeId);
    clearTimeout(this.#timers.get(bridgeId));
    this.#timers.delete(bridgeId);
    if (entry.kind === "forwarded") {
      if (entry.progressToken) this.#progress.delete(entry.progressToken);
      entry.finish?.(outcome);
    }
    return entry;
  }

  get(bridgeId: number): Pending<S> | undefined {
    return this.#pending.get(bridgeId);
  }

  /** Ids of the forwarded requests matching `predicate`, oldest first. */
  forwardedIds(predicate: (entry: Forwarded<S>) => boolean): number[] {
    const ids: number[] = [];
    for (const [id, entry] of this.#pending) if (entry.kind === "forwarded" && predicate(entry)) ids.push(id);
    return ids;
  }

  /** Every request's id, for failing them all when the child exits. */
  allIds(): number[] {
    return [...this.#pending.keys()];
  }

  inFlight(): number {
    return this.forwardedIds(() => true).length;
  }

  progressRoute(token: string): ProgressRoute<S> | undefined {
    return this.#progress.get(token);
  }

  /** Records a child request sent to `session`; returns the id the session sees. */
  addChildRequest(request: ChildRequest<S>): string {
    const downstreamId = `bridge-${this.nextId()}`;
    this.#childRequests.set(downstreamId, request);
    return downstreamId;
  }

  childRequest(downstreamId: string): ChildRequest<S> | undefined {
    return this.#childRequests.get(downstreamId);
  }

  takeChildRequest(downstreamId: string): ChildRequest<S> | undefined {
    const request = this.#childRequests.get(downstreamId);
    this.#childRequests.delete(downstreamId);
    return request;
  }

  /** Child requests matching `predicate`, removed, with the ids the sessions saw. */
  takeChildRequests(predicate: (request: ChildRequest<S>) => boolean): [string, ChildRequest<S>][] {
    const taken: [string, ChildRequest<S>][] = [];
    for (const [id, request] of this.#childRequests) {
      if (!predicate(request)) continue;
      this.#childRequests.delete(id);
      taken.push([id, request]);
    }
    return taken;
  }
}
