/**
 * MCP as tests speak it, importable by every tier: one raw initialize
 * request (for tests that check HTTP-level answers) and one way to connect
 * an SDK client.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";

/** What a Streamable HTTP client sends with every POST. */
export const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

export interface InitializeOptions {
  readonly id?: number;
  /** @default "2025-06-18" */
  readonly protocolVersion?: string;
  /** clientInfo.name. @default "raw" */
  readonly client?: string;
}

/** An `initialize` request, as a JSON-RPC object. */
export function initializeRequest(options: InitializeOptions = {}) {
  return {
    jsonrpc: "2.0" as const,
    id: options.id ?? 1,
    method: "initialize" as const,
    params: {
      protocolVersion: options.protocolVersion ?? "2025-06-18",
      capabilities: {},
      clientInfo: { name: options.client ?? "raw", version: "1" },
    },
  };
}

/** POSTs an `initialize` to a Streamable HTTP endpoint with `headers` added; the raw response. */
export function postInitialize(
  url: string,
  headers: Record<string, string> = {},
  options: InitializeOptions = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, ...headers },
    body: JSON.stringify(initializeRequest(options)),
  });
}

/** POSTs `body` to `<base>/mcp` as a 2025-11-25 client, in `session` when given; the raw response. */
export function postMcp(base: string, session: string | undefined, body: unknown): Promise<Response> {
  return fetch(`${base}/mcp`, {
    method: "POST",
    headers: {
      ...MCP_HEADERS,
      "mcp-protocol-version": "2025-11-25",
      ...(session ? { "mcp-session-id": session } : {}),
    },
    body: JSON.stringify(body),
  });
}

/** An `initialize` result of a tools-only server `name` that echoes the client's `protocolVersion`. */
export function toolsServerInitialize(name: string, protocolVersion: string | undefined) {
  return { protocolVersion, capabilities: { tools: {} }, serverInfo: { name, version: "1.0.0" } };
}

export interface ConnectOptions {
  /** Sent with every request (and the SSE stream). */
  readonly headers?: Record<string, string>;
  readonly name?: string;
  readonly capabilities?: ClientCapabilities;
  /** Registers handlers before connecting. */
  readonly setup?: (client: Client) => void;
}

/** An SDK client connected over Streamable HTTP to `<base>/mcp`. */
export function connectStreamable(
  base: string,
  headers: Record<string, string> = {},
  options: Omit<ConnectOptions, "headers"> = {},
): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers } });
  return connect(transport, { name: "test-client", ...options });
}

/** An SDK client connected over legacy HTTP+SSE to `<base>/sse` (headers on the stream too). */
export function connectLegacy(
  base: string,
  headers: Record<string, string> = {},
  options: Omit<ConnectOptions, "headers"> = {},
): Promise<Client> {
  const transport = new SSEClientTransport(new URL(`${base}/sse`), {
    requestInit: { headers },
    eventSourceInit: {
      fetch: (url, init) =>
        fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }),
    },
  });
  return connect(transport, { name: "legacy-client", ...options });
}

async function connect(transport: Transport, options: Omit<ConnectOptions, "headers">): Promise<Client> {
  const client = new Client(
    { name: options.name ?? "test-client", version: "1.0.0" },
    { capabilities: options.capabilities ?? {} },
  );
  options.setup?.(client);
  await client.connect(transport);
  return client;
}
