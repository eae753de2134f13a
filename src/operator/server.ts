/**
 * /healthz, /readyz and /metrics on the operator's metrics port.
 *
 * node:http rather than fastify: three fixed GET routes need no router,
 * schema compiler or plugin system, and fastify with ajv, avvio and
 * find-my-way was ~120 of the ~1,000 modules the operator loaded before it
 * could campaign for its lease (startup is CPU time on a loaded node).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface HealthServerOptions {
  readonly registry: Registry;
  /** Ready: caches synced (leader) or standing by (follower). */
  readonly ready: () => boolean;
}

export interface HealthServer {
  /** Resolves with http://host:port (127.0.0.1 for a wildcard address). */
  listen(options: { host: string; port: number }): Promise<string>;
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  response.end(body);
}

function json(response: ServerResponse, status: number, body: object): void {
  send(response, status, "application/json; charset=utf-8", JSON.stringify(body));
}

async function route(options: HealthServerOptions, request: IncomingMessage, response: ServerResponse) {
  const path = (request.url ?? "/").split("?", 1)[0];
  if (request.method !== "GET" && request.method !== "HEAD") {
    return json(response, 405, { status: "method not allowed" });
  }
  switch (path) {
    case "/healthz":
      return json(response, 200, { status: "ok" });
    case "/readyz":
      return options.ready()
        ? json(response, 200, { status: "ok" })
        : json(response, 503, { status: "not ready" });
    case "/metrics":
      return send(response, 200, options.registry.contentType, await options.registry.metrics());
    default:
      return json(response, 404, { status: "not found", path });
  }
}

function urlOf(address: AddressInfo): string {
  if (address.family === "IPv6")
    return `http://[${address.address === "::" ? "::1" : address.address}]:${address.port}`;
  return `http://${address.address === "0.0.0.0" ? "127.0.0.1" : address.address}:${address.port}`;
}

export function buildHealthApp(options: HealthServerOptions): HealthServer {
  const server = createServer((request, response) => {
    route(options, request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { status: "error", message: String(error) });
      else response.destroy();
    });
  });
  // Scrapes and probes are short; keep-alive sockets would hold close() up.
  server.keepAliveTimeout = 5_000;
  return {
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(urlOf(server.address() as AddressInfo));
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
