import type { Gate } from "../auth/index.ts";
import type { GatewayMetrics } from "../metrics.ts";
import type { ClientRequests } from "./client-requests.ts";
import type { Dispatcher } from "./dispatch.ts";
import type { SessionSigner } from "./session.ts";
import type { StreamHub } from "./streams.ts";

/** What the routes of both client transports (Streamable HTTP and legacy SSE) are given alike. */
export interface RouteOptions {
  readonly dispatcher: Dispatcher;
  readonly signer: SessionSigner;
  /** Who is calling (decided by its onRequest hook). */
  readonly gate: Gate;
  readonly hub: StreamHub;
  readonly metrics: GatewayMetrics;
  readonly clientRequests: ClientRequests;
  /** A session ended: this replica forgets what it held for it. */
  readonly endSession: (session: string) => void;
  /** @default 15000 */
  readonly keepAliveMs?: number;
  /** Most messages in one JSON-RPC batch. @default 64 */
  readonly maxBatchSize?: number;
}
