/**
 * Change announcements for both protocol eras. 2025-era sessions (streamable
 * HTTP, legacy SSE, stdio) get unsolicited `list_changed` notifications, and
 * `resources/updated` only where the session subscribed to that URI;
 * 2026-07-28 clients get them on their `subscriptions/listen` streams (the
 * SDK's event bus applies each stream's filter over HTTP, serveStdio's
 * listen router over stdio).
 */
import type { McpServer } from "@modelcontextprotocol/server";

export interface ShardEvents {
  toolsChanged(): void;
  promptsChanged(): void;
  resourcesChanged(): void;
  resourceUpdated(uri: string): void;
}

/** Where 2026-07-28 listen streams are fed (createMcpHandler's `notify`). */
export interface ModernNotifier {
  toolsChanged(): void;
  promptsChanged(): void;
  resourcesChanged(): void;
  resourceUpdated(uri: string): void;
}

/**
 * A 2026-07-28 stdio connection's server: it hears every update, because its
 * filter lives outside it (serveStdio routes each notification onto the
 * `subscriptions/listen` streams whose filter names that URI).
 */
const EVERY_URI = "every uri";

/** The session-holding servers of one shard process, and what each subscribed to. */
export class ShardSessions implements ShardEvents {
  private readonly subscriptions = new Map<McpServer, Set<string> | typeof EVERY_URI>();
  private modern: ModernNotifier | undefined;

  /**
   * Tracks a connection's server until it closes: a 2025-era session (its
   * `resources/subscribe` calls say what it hears), or with `era: "modern"` a
   * 2026-07-28 stdio connection (its listen streams say it, outside the server).
   */
  add(server: McpServer, era: "legacy" | "modern" = "legacy"): void {
    this.subscriptions.set(server, era === "modern" ? EVERY_URI : new Set());
    const previous = server.server.onclose;
    server.server.onclose = () => {
      this.subscriptions.delete(server);
      previous?.();
    };
  }

  setModern(notifier: ModernNotifier): void {
    this.modern = notifier;
  }

  subscribe(server: McpServer, uri: string): void {
    const uris = this.subscriptions.get(server);
    if (uris instanceof Set) uris.add(uri);
  }

  unsubscribe(server: McpServer, uri: string): void {
    const uris = this.subscriptions.get(server);
    if (uris instanceof Set) uris.delete(uri);
  }

  /** Sessions tracked now (for tests and metrics). */
  get size(): number {
    return this.subscriptions.size;
  }

  toolsChanged(): void {
    this.each((s) => s.sendToolListChanged());
    this.modern?.toolsChanged();
  }

  promptsChanged(): void {
    this.each((s) => s.sendPromptListChanged());
    this.modern?.promptsChanged();
  }

  resourcesChanged(): void {
    this.each((s) => s.sendResourceListChanged());
    this.modern?.resourcesChanged();
  }

  resourceUpdated(uri: string): void {
    for (const [server, uris] of this.subscriptions) {
      // A session that went away between the check and the send is not an error worth surfacing.
      if (uris === EVERY_URI || uris.has(uri))
        void server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
    this.modern?.resourceUpdated(uri);
  }

  private each(send: (server: McpServer) => void): void {
    for (const server of this.subscriptions.keys()) {
      if (server.isConnected()) send(server);
    }
  }
}
