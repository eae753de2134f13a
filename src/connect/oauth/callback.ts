/**
 * The loopback end of an OAuth redirect (RFC 8252 §7.3): an HTTP listener on
 * 127.0.0.1 that takes exactly one callback with the expected `state`, shows
 * the user a short page, and hands the query to the login.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Callback {
  readonly port: number;
  /** The callback's query (code and iss, or error), once one with the right state arrived. */
  wait(expectedState: () => string | undefined, timeoutMs: number): Promise<URLSearchParams>;
  close(): Promise<void>;
}

const PAGE = (message: string) =>
  `<!doctype html><meta charset="utf-8"><title>shardgate connect</title><p>${message}</p>`;

/** Listens on 127.0.0.1:`port` (0: any free port); rejects with EADDRINUSE when it is taken. */
export async function listenForCallback(port: number): Promise<Callback> {
  let deliver: ((query: URLSearchParams) => boolean) | undefined;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/callback" || !deliver?.(url.searchParams)) {
      res
        .writeHead(404, { "content-type": "text/html; charset=utf-8" })
        .end(PAGE("Not an expected login callback."));
      return;
    }
    const ok = !url.searchParams.has("error");
    res
      .writeHead(ok ? 200 : 400, { "content-type": "text/html; charset=utf-8", connection: "close" })
      .end(
        PAGE(
          ok
            ? "Logged in. You can close this tab and return to your MCP client."
            : "The login was refused; see the terminal or log.",
        ),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    wait: (expectedState, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          deliver = undefined;
          reject(new Error(`no login callback within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        deliver = (query) => {
          // A request without our state is someone else's (or a replay): not ours to take.
          if (query.get("state") !== expectedState()) return false;
          clearTimeout(timer);
          deliver = undefined;
          resolve(query);
          return true;
        };
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
