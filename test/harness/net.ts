/** Loopback helpers: free ports, listening on one, and polling HTTP(S) endpoints. */
import { request as httpRequest } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { createServer, type AddressInfo, type Server as NetServer } from "node:net";
import type { Server } from "node:http";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Binaries that cannot
 * listen on port 0 and report back (etcd, kube-apiserver, Traefik) need one;
 * the tiny race with other processes is the same one envtest accepts.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not read the bound port"));
      });
    });
  });
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
}

/** One GET with TLS options (client certificates, CA), 5 s timeout. */
export async function httpGet(url: string, tls: RequestOptions = {}): Promise<HttpResult> {
  const request = url.startsWith("https:") ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, method: "GET", timeout: 5_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** Listens on 127.0.0.1 at a port the system picks, and gives that port. */
export async function listenLoopback(server: Server | NetServer): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
