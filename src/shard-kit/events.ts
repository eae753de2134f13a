/**
 * Change announcements for both protocol eras. 2025-era sessions (streamable
 * HTTP, legacy SSE, stdio) get unsolicited `list_changed` notifications, and
 * `resources/updated` only where the session subscribed to that URI;
 * 2026-07-28 clients get them on their `subscriptions/listen` streams (the
 * SDK's event bus applies each stream's filter).
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

/** The session-holding servers of one shard process, and what each subscribed to. */
export class ShardSessions implements ShardEvents {
  private readonly subscriptions = new Map<McpServer, Set<string>>();
  private modern: ModernNotifier | undefined;

  /** Tracks a 2025-era session's server until it closes. */
  add(server: McpServer): void {
    this.subscriptions.set(server, new Set());
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
    this.subscriptions.get(server)?.add(uri);
  }

  unsubscribe(server: McpServer, uri: string): void {
    this.subscriptions.get(server)?.delete(uri);
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
      if (uris.has(uri)) void server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
    this.modern?.resourceUpdated(uri);
  }

  private each(send: (server: McpServer) => void): void {
    for (const server of this.subscriptions.keys()) {
      if (server.isConnected()) send(server);
    }
  }
}
