/**
 * `shardgate connect <gateway-url>`: a stdio MCP server that forwards
 * everything to a shardgate gateway, for Claude Desktop and any client that
 * speaks stdio only. stdout carries the protocol; logs go to stderr.
 */
import { readFile } from "node:fs/promises";
import type { AuthProvider } from "@modelcontextprotocol/client";
import { StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import type { Logger } from "../log.ts";
import { Relay } from "./relay.ts";

export { connectConfigSchema, type ConnectConfig } from "./config.ts";
export { gatewayEndpoint, isCleartextRemote } from "./url.ts";
export { Relay, type RelayOptions } from "./relay.ts";

export interface ConnectOptions {
  /** The gateway's MCP endpoint (see gatewayEndpoint). */
  readonly url: URL;
  readonly auth?: AuthProvider;
  readonly logger: Logger;
  readonly reconnectTimeoutMs: number;
  /** @default process.stdin */
  readonly stdin?: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean };
  /** @default process.stdout */
  readonly stdout?: NodeJS.WritableStream;
}

export interface RunningConnect {
  /** Resolves when the stdio client closed its end (stdin EOF) and the relay stopped. */
  readonly done: Promise<void>;
  /** Stops as for Ctrl-C: open requests answered with an error and cancelled at the gateway. */
  stop(): Promise<void>;
}

/** Relays stdio to the gateway until stdin ends or `stop()` is called. */
export async function runConnect(options: ConnectOptions): Promise<RunningConnect> {
  const stdio = new StdioServerTransport(
    (options.stdin ?? process.stdin) as never,
    (options.stdout ?? process.stdout) as never,
  );
  const relay = new Relay(stdio, {
    url: options.url,
    ...(options.auth ? { auth: options.auth } : {}),
    logger: options.logger,
    reconnectTimeoutMs: options.reconnectTimeoutMs,
  });
  let stopping: Promise<void> | undefined;
  const stop = (clientGone: boolean) => (stopping ??= relay.stop(clientGone));
  const done = new Promise<void>((resolve) => {
    stdio.onclose = () => {
      options.logger.info({ inFlight: relay.inFlight }, "stdin closed; stopping");
      void stop(true).then(resolve);
    };
  });
  stdio.onerror = (error) => options.logger.warn({ err: error.message }, "stdio");
  await stdio.start();
  return { done, stop: () => stop(false) };
}

/** The API key from the environment/flag or a file (trimmed: files usually end in a newline). */
export async function readApiKey(
  key: string | undefined,
  file: string | undefined,
): Promise<string | undefined> {
  if (key !== undefined && file !== undefined) {
    throw new Error("--api-key / SHARDGATE_API_KEY and --api-key-file are both set: keep one");
  }
  if (file === undefined) return key;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new Error(`--api-key-file ${file}: cannot read it`, { cause: error });
  }
  const trimmed = text.trim();
  if (!trimmed) throw new Error(`--api-key-file ${file} is empty`);
  return trimmed;
}
