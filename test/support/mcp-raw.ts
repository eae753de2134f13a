/**
 * MCP 2026-07-28 on the wire, without an SDK: one POST with the envelope and
 * the required headers, and the messages of its answer (JSON or SSE) as they
 * arrive. For tests that must see exactly what a server sends on one request
 * stream (log lines, listen notifications). Importable by every tier.
 */
export const MODERN = "2026-07-28";

export interface PostOptions {
  readonly id?: string | number;
  /** `_meta` entries besides protocolVersion and clientCapabilities (e.g. the log level). */
  readonly meta?: Record<string, unknown>;
  readonly signal?: AbortSignal;
}

/** POSTs one 2026-07-28 request to `<base>/mcp`. */
export async function post2026(
  base: string,
  method: string,
  params: Record<string, unknown>,
  options: PostOptions = {},
): Promise<Response> {
  const name =
    typeof params.name === "string" ? params.name : typeof params.uri === "string" ? params.uri : undefined;
  return fetch(`${base}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": MODERN,
      "mcp-method": method,
      ...(name ? { "mcp-name": name } : {}),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: options.id ?? 1,
      method,
      params: {
        ...params,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientCapabilities": {},
          ...options.meta,
        },
      },
    }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export type WireMessage = {
  id?: string | number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
};

/** The messages of an answer in arrival order: one for JSON, each `data:` event for SSE. */
export async function* messagesOf(response: Response): AsyncGenerator<WireMessage> {
  if (!response.headers.get("content-type")?.includes("text/event-stream")) {
    yield (await response.json()) as WireMessage;
    return;
  }
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data) yield JSON.parse(data) as WireMessage;
    }
  }
}

/** Every message of an answer, in wire order, to the body's end. */
export async function allMessagesOf(response: Response): Promise<WireMessage[]> {
  const messages: WireMessage[] = [];
  for await (const message of messagesOf(response)) messages.push(message);
  return messages;
}

/** Every message of a request's answer, up to and including its response. */
export async function exchange2026(
  base: string,
  method: string,
  params: Record<string, unknown>,
  options: PostOptions = {},
): Promise<WireMessage[]> {
  const messages: WireMessage[] = [];
  for await (const message of messagesOf(await post2026(base, method, params, options))) {
    messages.push(message);
    if (message.method === undefined) break;
  }
  return messages;
}
