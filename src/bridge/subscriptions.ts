import type { Logger } from "../log.ts";

/**
 * Which downstream sessions subscribed to which resource URI. The child sees
 * one client (the bridge), so it is told about a URI only when the first
 * session subscribes and when the last one leaves.
 */
export class Subscriptions<S> {
  readonly #byUri = new Map<string, Set<S>>();

  /** True when `uri` had no subscriber before, i.e. the child must subscribe now. */
  add(uri: string, session: S): boolean {
    const sessions = this.#byUri.get(uri);
    if (sessions) {
      sessions.add(session);
      return false;
    }
    this.#byUri.set(uri, new Set([session]));
    return true;
  }

  /** True when `session` was the last subscriber of `uri`, i.e. the child must unsubscribe now. */
  remove(uri: string, session: S): boolean {
    const sessions = this.#byUri.get(uri);
    if (!sessions?.delete(session)) return false;
    if (sessions.size > 0) return false;
    this.#byUri.delete(uri);
    return true;
  }

  /** Forgets a session everywhere; returns the URIs that lost their last subscriber. */
  removeSession(session: S): string[] {
    return [...this.#byUri.keys()].filter((uri) => this.remove(uri, session));
  }

  subscribers(uri: string): readonly S[] {
    return [...(this.#byUri.get(uri) ?? [])];
  }

  /** Every URI with at least one subscriber. */
  uris(): string[] {
    return [...this.#byUri.keys()];
  }
}

type Outcome = { result: unknown } | { error: { code: number; message: string; data?: unknown } };
const OK: Outcome = { result: {} };

/**
 * Sessions' resource subscriptions kept against one child: the child is
 * subscribed once per URI (again after a restart) and unsubscribed when the
 * last session leaves.
 */
export class ChildSubscriptions<S> {
  readonly #sessions = new Subscriptions<S>();
  /** The child's answer to subscribing each URI (this process lifetime). */
  readonly #child = new Map<string, Promise<Outcome>>();
  readonly #request: (method: string, params: Record<string, unknown>) => Promise<Outcome>;
  readonly #logger: Logger;

  constructor(
    request: (method: string, params: Record<string, unknown>) => Promise<Outcome>,
    logger: Logger,
  ) {
    this.#request = request;
    this.#logger = logger;
  }

  subscribers(uri: string): readonly S[] {
    return this.#sessions.subscribers(uri);
  }

  uris(): string[] {
    return this.#sessions.uris();
  }

  /** A new process knows nothing of the sessions' subscriptions. */
  resubscribeAll(): void {
    this.#child.clear();
    for (const uri of this.#sessions.uris()) void this.#subscribeChild(uri);
  }

  async subscribe(session: S, uri: string): Promise<Outcome> {
    const first = this.#sessions.add(uri, session);
    const outcome = await (first ? this.#subscribeChild(uri) : (this.#child.get(uri) ?? OK));
    if ("error" in outcome) {
      // Refused (or the child died meanwhile): this session is not subscribed.
      if (this.#sessions.remove(uri, session)) this.#child.delete(uri);
      return outcome;
    }
    return OK;
  }

  unsubscribe(session: S, uri: string): Outcome {
    if (this.#sessions.remove(uri, session)) this.#unsubscribeChild(uri);
    return OK;
  }

  dropSession(session: S): void {
    for (const uri of this.#sessions.removeSession(session)) this.#unsubscribeChild(uri);
  }

  #subscribeChild(uri: string): Promise<Outcome> {
    const outcome = this.#request("resources/subscribe", { uri });
    this.#child.set(uri, outcome);
    void outcome.then((o) => {
      if ("error" in o)
        this.#logger.warn({ uri, error: o.error }, "stdio server refused resources/subscribe");
    });
    return outcome;
  }

  #unsubscribeChild(uri: string): void {
    this.#child.delete(uri);
    void this.#request("resources/unsubscribe", { uri }).then((o) => {
      if ("error" in o) this.#logger.debug({ uri, error: o.error }, "resources/unsubscribe failed");
    });
  }
}
