/**
 * A GET-only Docker Engine API client on node:http. Deliberately small: the
 * shard reads seven endpoints, and a client without a write method cannot be
 * talked into one (the proxy in front refuses writes too: two locks; the one
 * other request, an OPTIONS probe, checks that the second lock is there). No SDK:
 * dockerode and friends bring a dependency tree for the same seven GETs.
 *
 * The API version is negotiated once, like the docker CLI does: the engine's
 * own version from GET /version, capped at the newest this code knows, so
 * paths are stable (/v1.41/containers/json) on old and new engines.
 */
import { Agent, request, type IncomingMessage } from "node:http";
import { messageOf } from "../../../util/index.ts";
import { WatchmanNotFound, WatchmanRefusal } from "../backend.ts";
import type { DockerEndpoint } from "./host.ts";

/** Oldest engine API with everything used here (logs `until` came in 1.35, online_cpus in 1.27). */
const MIN_API_VERSION = "1.35";
/** Newest API version these paths and fields were checked against. */
const MAX_API_VERSION = "1.51";

/** What the shard reads, for error messages (and the proxy's allow list: examples/watchman-docker/haproxy.cfg). */
export const NEEDED_ENDPOINTS =
  "GET /_ping, /version, /containers/json and /containers/{id}/json, /containers/{id}/logs, /containers/{id}/stats";

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface DockerApi {
  /** "tcp://host:port" or "unix:///path". */
  readonly display: string;
  /** GET a JSON document. */
  getJson<T>(path: string, query: Query, signal: AbortSignal): Promise<T>;
  /** GET a stream (a log); the caller reads it and destroys it when done. */
  getStream(path: string, query: Query, signal: AbortSignal): Promise<IncomingMessage>;
  /**
   * True when the endpoint answers a method other than GET: the engine itself
   * answers `OPTIONS` on any path with 200, a GET-only proxy refuses it. The
   * probe is the client's one non-GET request, and OPTIONS changes nothing.
   */
  acceptsOtherMethods(signal: AbortSignal): Promise<boolean>;
  /** The negotiated API version, e.g. "1.41", and the engine's version. */
  version(signal: AbortSignal): Promise<{ readonly api: string; readonly engine: string }>;
  close(): void;
}

export interface DockerApiOptions {
  /** Per request, a log read included. */
  readonly timeoutMs: number;
}

function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split(".").map(Number);
  const [bMajor = 0, bMinor = 0] = b.split(".").map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

async function readBody(res: IncomingMessage, maxBytes = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < maxBytes) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, maxBytes);
}

/** Docker's error body is {"message": "..."}; a proxy's is HTML or text. */
function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // Not JSON: a proxy's page.
  }
  return body
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
}

export function createDockerApi(endpoint: DockerEndpoint, opts: DockerApiOptions): DockerApi {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const target =
    endpoint.kind === "unix"
      ? { socketPath: endpoint.socketPath }
      : { host: endpoint.host, port: endpoint.port };

  const failure = (path: string, status: number, body: string): Error => {
    const detail = errorText(body);
    if (status === 403 || status === 405 || status === 401) {
      return new WatchmanRefusal(
        `the Docker socket proxy at ${endpoint.display} refused GET ${path} (HTTP ${status}${detail ? `: ${detail}` : ""}). ` +
          `This shard only reads ${NEEDED_ENDPOINTS}: allow those on the proxy (examples/watchman-docker/haproxy.cfg)`,
      );
    }
    if (status === 404) return new WatchmanNotFound(detail || `Docker has no ${path}`);
    return new Error(
      `Docker API GET ${path} at ${endpoint.display}: HTTP ${status}${detail ? `: ${detail}` : ""}`,
    );
  };

  const get = (path: string, query: Query, signal: AbortSignal): Promise<IncomingMessage> => {
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]);
    return new Promise((resolve, reject) => {
      const req = request(
        { ...target, agent, method: "GET", path: path + queryString(query), signal: bounded },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(res);
            return;
          }
          readBody(res).then(
            (body) => reject(failure(path, status, body)),
            (cause: unknown) => reject(new Error(`Docker API GET ${path}: HTTP ${status}`, { cause })),
          );
        },
      );
      req.on("error", (cause) => {
        const why =
          bounded.aborted && !signal.aborted
            ? `no answer within ${opts.timeoutMs / 1000}s`
            : messageOf(cause);
        reject(
          new Error(`cannot read the Docker API at ${endpoint.display} (GET ${path}): ${why}`, { cause }),
        );
      });
      req.end();
    });
  };

  let negotiated: Promise<{ api: string; engine: string }> | undefined;
  const version = (signal: AbortSignal): Promise<{ api: string; engine: string }> => {
    negotiated ??= (async () => {
      const info = JSON.parse(await readBody(await get("/version", {}, signal))) as {
        ApiVersion?: string;
        Version?: string;
      };
      const api = info.ApiVersion ?? MIN_API_VERSION;
      if (compareVersions(api, MIN_API_VERSION) < 0) {
        throw new Error(
          `the Docker Engine at ${endpoint.display} speaks API ${api}; this shard needs ${MIN_API_VERSION} or newer`,
        );
      }
      return {
        api: compareVersions(api, MAX_API_VERSION) > 0 ? MAX_API_VERSION : api,
        engine: info.Version ?? "unknown",
      };
    })();
    // A failed negotiation (engine down) is retried on the next call.
    negotiated.catch(() => {
      negotiated = undefined;
    });
    return negotiated;
  };

  const versioned = async (path: string, signal: AbortSignal): Promise<string> =>
    `/v${(await version(signal)).api}${path}`;

  const acceptsOtherMethods = (signal: AbortSignal): Promise<boolean> => {
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]);
    return new Promise((resolve, reject) => {
      const req = request({ ...target, agent, method: "OPTIONS", path: "/_ping", signal: bounded }, (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 300);
      });
      req.on("error", (cause) =>
        reject(
          new Error(`cannot reach the Docker API at ${endpoint.display}: ${messageOf(cause)}`, { cause }),
        ),
      );
      req.end();
    });
  };

  return {
    display: endpoint.display,
    version,
    acceptsOtherMethods,
    async getJson<T>(path: string, query: Query, signal: AbortSignal): Promise<T> {
      const res = await get(await versioned(path, signal), query, signal);
      const body = await readBody(res, 16 * 1024 * 1024);
      try {
        return JSON.parse(body) as T;
      } catch (cause) {
        throw new Error(`Docker API GET ${path} at ${endpoint.display} answered with no JSON`, { cause });
      }
    },
    async getStream(path, query, signal) {
      return get(await versioned(path, signal), query, signal);
    },
    close: () => agent.destroy(),
  };
}
