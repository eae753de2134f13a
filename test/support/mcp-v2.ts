/**
 * The v2 MCP SDK's client (@modelcontextprotocol/client) as the era tests use
 * it: one way to connect to `<base>/mcp` with handlers registered first, the
 * version negotiation that pins an era, and the first text of a tool result.
 * Importable by every tier (it spawns nothing).
 */
import { Client, StreamableHTTPClientTransport, type CallToolResult } from "@modelcontextprotocol/client";

export type Era = "modern" | "legacy";

type ClientOptions = NonNullable<ConstructorParameters<typeof Client>[1]>;

/** Pins 2026-07-28 for "modern"; "legacy" speaks only the 2025 revisions. */
export function eraNegotiation(era: Era): ClientOptions["versionNegotiation"] {
  return { mode: era === "modern" ? { pin: "2026-07-28" } : "legacy" };
}

/** A v2 SDK client named `name`, its request handlers registered by `setup`, connected to `<base>/mcp`. */
export async function connectV2(
  base: string,
  name: string,
  options: ClientOptions,
  setup: (client: Client) => void = () => undefined,
): Promise<Client> {
  const client = new Client({ name, version: "0" }, options);
  setup(client);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  return client;
}

/** The text of a tool result's first content block. */
export const textOf = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;
