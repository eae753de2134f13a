/**
 * Requests the gateway sends to a client on behalf of a shard (sampling,
 * elicitation, roots) and the answers the client POSTs back. The request goes
 * out on the stream of the call it belongs to; the answer must come back to
 * this replica (the pending request lives here): with several replicas that
 * needs session affinity, as legacy SSE does. An answer that lands on another
 * replica is refused with a message that says so, and the call times out.
 *
 * A URL-mode elicitation's `notifications/elicitation/complete` names only
 * its `elicitationId` and often comes after the call ended: the session each
 * id was sent to is remembered (an hour, at most MAX_ELICITATIONS ids), so
 * the completion reaches that session's stream on this replica.
 */
import { randomBytes } from "node:crypto";
import {
  McpError,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type Result,
} from "@modelcontextprotocol/sdk/types.js";

/** URL-mode elicitations remembered for their completion notification. */
const MAX_ELICITATIONS = 10_000;
const ELICITATION_TTL_MS = 60 * 60 * 1000;

interface Pending {
  resolve(result: Result): void;
  reject(error: Error): void;
}

/** Capability letters kept in session claims: what a client may be asked. */
export const ABILITY = { sampling: "s", elicitation: "e", elicitationUrl: "u", roots: "r" } as const;

/** The letters for a client's `initialize` capabilities. */
export function abilitiesOf(capabilities: unknown): string {
  const caps = (capabilities ?? {}) as Record<string, unknown>;
  const elicitation = caps.elicitation as Record<string, unknown> | undefined;
  let out = "";
  if (caps.sampling) out += ABILITY.sampling;
  // An empty elicitation object means form mode (2025-06-18).
  if (elicitation && (elicitation.form || !elicitation.url)) out += ABILITY.elicitation;
  if (elicitation?.url) out += ABILITY.elicitationUrl;
  if (caps.roots) out += ABILITY.roots;
  return out;
}

/** Which capability a shard's request needs from the client, or undefined when none. */
export function abilityFor(method: string, params: Record<string, unknown> | undefined): string | undefined {
  if (method === "sampling/createMessage") return ABILITY.sampling;
  if (method === "elicitation/create")
    return params?.mode === "url" ? ABILITY.elicitationUrl : ABILITY.elicitation;
  if (method === "roots/list") return ABILITY.roots;
  return undefined;
}

export class ClientRequests {
  /** Ids carry this replica's tag, so a misrouted answer can say where it belongs. */
  readonly #tag = randomBytes(4).toString("hex");
  #next = 0;
  #pending = new Map<string, Pending>();
  /** elicitationId → the session it was sent to, oldest first. */
  #elicitations = new Map<string, { session: string; until: number }>();

  get size(): number {
    return this.#pending.size;
  }

  /** Sends `method` to the client through `write` and waits for its answer. */
  request(
    session: string,
    write: (message: JSONRPCRequest) => void,
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ): Promise<Result> {
    const id = `shardgate-${this.#tag}-${++this.#next}`;
    const key = `${session}\u0000${id}`;
    return new Promise<Result>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new Error("call cancelled"));
        return;
      }
      const onAbort = () => {
        this.#pending.delete(key);
        reject(signal.reason instanceof Error ? signal.reason : new Error("call cancelled"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(key, {
        resolve: (r) => {
          signal.removeEventListener("abort", onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      });
      if (
        method === "elicitation/create" &&
        params?.mode === "url" &&
        typeof params.elicitationId === "string"
      )
        this.#remember(params.elicitationId, session);
      write({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) });
    });
  }

  /** A client's answer; false when no request of this replica waits for it. */
  answer(session: string, message: JSONRPCMessage): boolean {
    if (!("id" in message) || "method" in message) return false;
    const key = `${session}\u0000${String(message.id)}`;
    const pending = this.#pending.get(key);
    if (!pending) return false;
    this.#pending.delete(key);
    if ("error" in message) {
      const e = message.error;
      pending.reject(new McpError(e.code, e.message, e.data));
    } else pending.resolve((message as { result: Result }).result);
    return true;
  }

  #remember(elicitationId: string, session: string): void {
    const now = Date.now();
    for (const [id, e] of this.#elicitations) {
      if (e.until > now && this.#elicitations.size < MAX_ELICITATIONS) break;
      this.#elicitations.delete(id);
    }
    this.#elicitations.delete(elicitationId);
    this.#elicitations.set(elicitationId, { session, until: now + ELICITATION_TTL_MS });
  }

  /** A shard finished a URL-mode elicitation: the notification goes to the session that was asked. */
  completed(elicitationId: string, send: (session: string, message: JSONRPCMessage) => void): void {
    const asked = this.#elicitations.get(elicitationId);
    if (!asked || asked.until < Date.now()) return;
    this.#elicitations.delete(elicitationId);
    send(asked.session, {
      jsonrpc: "2.0",
      method: "notifications/elicitation/complete",
      params: { elicitationId },
    });
  }

  /** Whether an answer's id was issued by some gateway replica (not necessarily this one). */
  static isGatewayId(id: unknown): boolean {
    return typeof id === "string" && id.startsWith("shardgate-");
  }
}
