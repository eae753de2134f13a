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
