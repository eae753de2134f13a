/**
 * The URLs a model may hand the shard, checked before anything is written or
 * fetched: backend URLs of file-mode routes (Traefik's HTTP load balancer
 * speaks http, https and h2c; `file:`, `gopher:` or `javascript:` would be
 * written into Traefik's configuration as they are), and the path of a backend
 * probe (an absolute or scheme-relative URL there would make the shard fetch
 * any address it can reach: SSRF). Pure.
 */
import { RouteSpecError } from "./route-spec-error.ts";
import { Refusal } from "./refusal.ts";

/** Schemes of `http.services.*.loadBalancer.servers[].url` in Traefik v3. */
export const FILE_BACKEND_SCHEMES: readonly string[] = ["http:", "https:", "h2c:"];

/** Throws a RouteSpecError naming the backend unless it is an absolute http, https or h2c URL with a host. */
export function checkFileBackend(raw: string): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RouteSpecError(`backend ${JSON.stringify(raw)} is not a URL such as http://10.0.0.5:3000`);
  }
  if (!FILE_BACKEND_SCHEMES.includes(url.protocol))
    throw new RouteSpecError(
      `backend ${JSON.stringify(raw)}: scheme ${url.protocol} is not one Traefik's HTTP load balancer speaks (http, https, h2c)`,
    );
  if (!url.hostname) throw new RouteSpecError(`backend ${JSON.stringify(raw)} has no host`);
}

/** A probe_path that is not a plain path. */
export class ProbePathError extends Refusal {
  override name = "ProbePathError";
}

/**
 * The URL to probe: `path` (absolute path, optional query) resolved against
 * the backend server's URL, never leaving the server's origin.
 */
export function probeTarget(serverUrl: string, path: string | undefined): string {
  if (path === undefined || path === "") return serverUrl;
  // "//host" and "/\host" are scheme-relative to a URL parser: another host.
  if (!path.startsWith("/") || path.startsWith("//") || path.includes("\\"))
    throw new ProbePathError(
      `probe_path ${JSON.stringify(path)} must be a path such as /healthz, not a URL: the probe only asks the backend itself`,
    );
  const server = new URL(serverUrl);
  const target = new URL(path, server);
  if (target.origin !== server.origin)
    throw new ProbePathError(`probe_path ${JSON.stringify(path)} leaves the backend ${server.origin}`);
  return target.toString();
}
