/**
 * resources/subscribe across clients: one upstream subscription per resource
 * however many client sessions subscribe, and notifications/resources/updated
 * routed to the streams of the sessions that subscribed. Subscriptions live in
 * the replica that received them (the upstream subscription is that replica's
 * session with the shard), so the client's GET stream must be open on the same
 * replica: session affinity, as for legacy SSE (ARCHITECTURE.md).
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

export interface SubscriptionUpstream {
  subscribe(uri: string): Promise<void>;
  unsubscribe(uri: string): Promise<void>;
}

export class Subscriptions {
  /** "shard\0uri" → subscribed session nonces. */
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

  updated(shard: string, uri: string): void {
    const sessions = this.#sessions.get(`${shard}\u0000${uri}`);
    if (!sessions) return;
    const message: JSONRPCMessage = {
      jsonrpc: "2.0",
      method: "notifications/resources/updated",
      params: { uri },
    };
    for (const s of sessions) this.#send(s, message);
  }

  count(): number {
    return this.#sessions.size;
  }
}
