/**
 * resources/subscribe across clients: one upstream subscription per resource
 * however many client sessions subscribe, and notifications/resources/updated
 * routed to the streams of the sessions that subscribed. Subscriptions live in
 * the replica that received them (the upstream subscription is that replica's
 * session with the shard), so the client's GET stream must be open on the same
 * replica: session affinity, as for legacy SSE (ARCHITECTURE.md).
 *
 * A 2026-07-28 client's `subscriptions/listen` that names resource URIs holds
 * the same upstream subscriptions, as a listener of its own, for as long as
 * its stream is open; the SDK's listen router then gives each update only to
 * the streams whose filter names that URI.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Principal } from "../auth/index.ts";
import { resourceShard, type Catalogue } from "../catalogue/build.ts";
import { GatewayError } from "../errors.ts";

export interface SubscriptionUpstream {
  subscribe(uri: string): Promise<void>;
  unsubscribe(uri: string): Promise<void>;
}

/** Listeners are kept beside sessions under a prefix no session nonce has. */
const LISTENER = "listen\u0000";

export class Subscriptions {
  #listeners = 0;
  /** "shard\0uri" → subscribed session nonces (and listeners). */
  #sessions = new Map<string, Set<string>>();
  #send: (session: string, message: JSONRPCMessage) => void;

  constructor(send: (session: string, message: JSONRPCMessage) => void) {
    this.#send = send;
  }

  async subscribe(
    session: string,
    shard: string,
    uri: string,
    upstream: SubscriptionUpstream,
  ): Promise<void> {
    const key = `${shard}\u0000${uri}`;
    const sessions = this.#sessions.get(key);
    if (sessions) {
      sessions.add(session);
      return;
    }
    const fresh = new Set([session]);
    this.#sessions.set(key, fresh);
    try {
      await upstream.subscribe(uri);
    } catch (error) {
      if (this.#sessions.get(key) === fresh) this.#sessions.delete(key);
      throw error;
    }
  }

  async unsubscribe(
    session: string,
    shard: string,
    uri: string,
    upstream: SubscriptionUpstream,
  ): Promise<void> {
    const key = `${shard}\u0000${uri}`;
    const sessions = this.#sessions.get(key);
    if (!sessions?.delete(session) || sessions.size > 0) return;
    this.#sessions.delete(key);
    await upstream.unsubscribe(uri);
  }

  /** Ends every subscription of a session (DELETE, or its stream closed for good). */
  dropSession(session: string, upstreamOf: (shard: string) => SubscriptionUpstream | undefined): void {
    for (const [key, sessions] of this.#sessions) {
      if (!sessions.delete(session) || sessions.size > 0) continue;
      this.#sessions.delete(key);
      const [shard = "", uri = ""] = key.split("\u0000");
      void upstreamOf(shard)
        ?.unsubscribe(uri)
        .catch(() => undefined);
    }
  }

  /**
   * A 2026-07-28 listen stream for `uris`: each is subscribed upstream (at
   * the shard that serves it) before this resolves; the returned function
   * ends them all (when the stream closes). A URI the key may not read reads
   * like an unknown one, and refuses the whole listen.
   */
  async listen(
    uris: readonly string[],
    principal: Principal,
    catalogue: Catalogue,
    upstreamOf: (shard: string) => SubscriptionUpstream | undefined,
  ): Promise<() => void> {
    const targets = uris.map((uri) => {
      const shard = principal.mayReadResource(uri) ? resourceShard(catalogue, uri) : undefined;
      const upstream = shard === undefined ? undefined : upstreamOf(shard);
      if (shard === undefined || !upstream)
        throw new GatewayError("invalidParams", `subscriptions/listen: unknown resource: ${uri}`);
      return { shard, uri, upstream };
    });
    const listener = `${LISTENER}${++this.#listeners}`;
    const end = () => this.dropSession(listener, upstreamOf);
    try {
      await Promise.all(targets.map((t) => this.subscribe(listener, t.shard, t.uri, t.upstream)));
    } catch (error) {
      end();
      throw error;
    }
    return end;
  }

  /** A shard says `uri` changed: to the sessions subscribed, and to `listeners` if a listen stream asked. */
  updated(shard: string, uri: string, listeners?: { resourceUpdated(uri: string): void }): void {
    const sessions = this.#sessions.get(`${shard}\u0000${uri}`);
    if (!sessions) return;
    if (listeners && [...sessions].some((s) => s.startsWith(LISTENER))) listeners.resourceUpdated(uri);
    const message: JSONRPCMessage = {
      jsonrpc: "2.0",
      method: "notifications/resources/updated",
      params: { uri },
    };
    for (const s of sessions) if (!s.startsWith(LISTENER)) this.#send(s, message);
  }

  count(): number {
    return this.#sessions.size;
  }
}
