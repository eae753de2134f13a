/**
 * DNS-rebinding protection shared by the gateway and the shards (the shard
 * kit's guard): which browser `Origin` may call a server reached under a given
 * `Host`, and which `Host` a request without `Origin` may name. Pure; each
 * server decides which routes it applies to.
 */
import { isIP } from "node:net";

/** "[::1]:8080" → "::1", "127.0.0.1:8080" → "127.0.0.1". */
export function hostName(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]") > 0 ? host.indexOf("]") : undefined);
  return host.split(":")[0] ?? "";
}

/** `localhost`, `127.0.0.0/8` or `[::1]`, with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host).toLowerCase();
  return name === "localhost" || name === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The `host[:port]` of a URL, undefined when it is not one. */
export function urlHost(value: string): string | undefined {
  try {
    return new URL(value).host;
  } catch {
    return undefined;
  }
}

/**
 * DNS rebinding: a page on an attacker's name resolving to the server sends
 * `Origin` and `Host` that agree, so "same host" proves nothing on its own. It
 * counts only where the Host cannot be rebound to us by a stranger: a loopback
 * name or address, or a host the operator listed.
 */
export function originAllowed(origin: string, host: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes("*") || allowed.includes(origin)) return true;
  if (host === undefined) return false;
  const trustedHost = isLoopbackHost(host) || allowed.some((a) => urlHost(a) === host);
  return trustedHost && urlHost(origin) === host;
}

/**
 * A request without `Origin` (any client but a browser's cross-origin or
 * non-GET request) under this Host cannot be a DNS-rebinding page reading a
 * same-origin GET: a rebound page always names the attacker's host. Trusted:
 * loopback names, IP literals (no name was resolved), and the listed host
 * names (port ignored, "*" for any).
 */
export function hostTrusted(host: string | undefined, allowedHosts: readonly string[]): boolean {
  if (allowedHosts.includes("*")) return true;
  if (host === undefined) return false;
  // "name." is the same host as "name" (a fully qualified form).
  const bare = (h: string) => h.toLowerCase().replace(/\.$/, "");
  const name = bare(hostName(host));
  if (isLoopbackHost(host) || isIP(name) !== 0) return true;
  return allowedHosts.some((allowed) => bare(allowed) === name);
}
