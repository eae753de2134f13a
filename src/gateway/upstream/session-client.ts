/**
 * Opens the gateway's 2025-era session with a shard (v1 SDK client): the
 * relay transport that routes a call's messages to its caller, the shard's
 * own notifications (list changes, resource updates) to the gateway, and a
 * refusal for server requests that belong to no call.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CreateMessageRequestSchema,
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { CODES } from "../errors.ts";
import { DEFAULT_MAX_DEPTH, guardIncomingDepth } from "../limits/depth.ts";
import { RelayTransport } from "./relay.ts";
import { UPSTREAM_CAPABILITIES, type ListKind } from "./types.ts";

export type SessionKind = "streamable-http" | "sse";

export interface SessionClientOptions {
  readonly clientInfo: { name: string; version: string };
  readonly timeoutMs: number;
  readonly maxDepth?: number;
  readonly onListChanged: (kind: ListKind) => void;
  readonly onResourceUpdated?: (uri: string) => void;
  readonly onElicitationComplete?: (elicitationId: string) => void;
}

/** Connects (initialize) a v1 client over `inner`; closes it again when that fails. */
export async function openSessionClient(
  inner: Transport & { onrelated?: RelayTransport["inner"]["onrelated"] },
  kind: SessionKind,
  options: SessionClientOptions,
): Promise<Client> {
  const transport = new RelayTransport(inner);
  const client = new Client(options.clientInfo, { capabilities: UPSTREAM_CAPABILITIES });
  // Requests that belong to no call (legacy SSE cannot tell, or a shard asks
  // on its own): no client to ask, and the gateway has nothing to answer for them.
  const noCaller = (method: string) => () => {
    throw new McpError(
      CODES.methodNotFound.code,
      `shardgate: ${method} outside a call to this shard cannot be routed to a client${kind === "sse" ? " (legacy SSE does not say which call a request belongs to)" : ""}`,
    );
  };
  client.setRequestHandler(CreateMessageRequestSchema, noCaller("sampling/createMessage"));
  client.setRequestHandler(ElicitRequestSchema, noCaller("elicitation/create"));
  client.setRequestHandler(ListRootsRequestSchema, noCaller("roots/list"));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) =>
    options.onResourceUpdated?.(n.params.uri),
  );
  // Sent when the out-of-band step of a URL-mode elicitation is done, often after its call ended.
  client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) =>
    options.onElicitationComplete?.(n.params.elicitationId),
  );
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => options.onListChanged("tools"));
  client.setNotificationHandler(ResourceListChangedNotificationSchema, () =>
    options.onListChanged("resources"),
  );
  client.setNotificationHandler(PromptListChangedNotificationSchema, () => options.onListChanged("prompts"));
  try {
    await client.connect(transport, { timeout: options.timeoutMs });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  guardIncomingDepth(transport, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  return client;
}

/** The transport a session client was opened on (to tell whose session a transport reports lost). */
export function innerTransportOf(client: Client): Transport | undefined {
  return (client.transport as RelayTransport | undefined)?.inner;
}
