/**
 * `shardgate connect` as a desktop client runs it: the v2 SDK's real stdio
 * client (StdioClientTransport) spawning `node src/cli.ts connect <gateway>`,
 * with handlers for the server's sampling, elicitation and roots requests.
 */
import type { ChildProcess } from "node:child_process";
import { Client, type ClientOptions } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { ROOT } from "./cli.ts";

export interface Connector {
  readonly client: Client;
  readonly transport: StdioClientTransport;
  /** Settles when the client's initialize went through the connector (after a login, if one was needed). */
  readonly connected: Promise<void>;
  /** Everything the connector wrote on stderr so far (its log, the login URL). */
  stderr(): string;
}

export interface ConnectorOptions {
  /** Added to the test's environment (SHARDGATE_API_KEY, XDG_CONFIG_HOME, ...). */
  readonly env?: Record<string, string>;
  /** More `shardgate connect` flags. */
  readonly args?: readonly string[];
  /** Registers more handlers before connecting. */
  readonly setup?: (client: Client) => void;
  readonly versionNegotiation?: ClientOptions["versionNegotiation"];
}

/** Starts the connector for `gatewayUrl` under a stdio client; `connected` says when initialize is done. */
export function startConnector(gatewayUrl: string, options: ConnectorOptions = {}): Connector {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["src/cli.ts", "connect", gatewayUrl, "--reconnect-timeout-seconds", "20", ...(options.args ?? [])],
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>), LOG_LEVEL: "debug", ...options.env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client(
    { name: "desktop", version: "1.0.0" },
    {
      capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } },
      ...(options.versionNegotiation ? { versionNegotiation: options.versionNegotiation } : {}),
    },
  );
  client.setRequestHandler("sampling/createMessage", () => ({
    role: "assistant",
    content: { type: "text", text: "Paris" },
    model: "test-model",
  }));
  client.setRequestHandler("elicitation/create", () => ({ action: "accept", content: { name: "Ada" } }));
  client.setRequestHandler("roots/list", () => ({ roots: [{ uri: "file:///home/ada", name: "home" }] }));
  options.setup?.(client);
  const connected = client.connect(transport);
  return { client, transport, connected, stderr: () => stderr };
}

/** The connector process behind `transport` (the SDK keeps it private; tests need its exit code). */
export function childOf(transport: StdioClientTransport): ChildProcess {
  const child = (transport as unknown as { _process?: ChildProcess })._process;
  if (!child) throw new Error("the connector is not running");
  return child;
}

/** The exit code of `child`, once it has exited. */
export function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}
