/**
 * Read-only client for Traefik's API (`--api` with the `traefik` entry point or
 * `api.insecure`). Every list endpoint is paginated (`per_page`, `page`,
 * `X-Next-Page` which is 1 on the last page), so lists are read page by page.
 */
import { request } from "undici";
import { messageOf } from "../../util/index.ts";

export type Protocol = "http" | "tcp" | "udp";

export interface RouterInfo {
  readonly name: string;
  readonly provider: string;
  readonly rule?: string;
  readonly entryPoints?: string[];
  readonly middlewares?: string[];
  readonly service?: string;
  readonly priority?: number;
  readonly tls?: { certResolver?: string; options?: string; passthrough?: boolean; domains?: unknown[] };
  /** "enabled", "disabled" or "warning". */
  readonly status?: string;
  readonly error?: string[];
  readonly using?: string[];
}

/** What Traefik's API reports for every middleware, and for every service besides its servers. */
export interface MiddlewareInfo {
  readonly name: string;
  readonly provider: string;
  readonly type?: string;
  readonly status?: string;
  readonly error?: string[];
  readonly usedBy?: string[];
}

export interface ServiceInfo extends MiddlewareInfo {
  /** Server URL (or address) -> "UP" / "DOWN". */
  readonly serverStatus?: Record<string, string>;
  readonly loadBalancer?: { servers?: { url?: string; address?: string }[] };
}

export interface EntryPointInfo {
  readonly name: string;
  readonly address: string;
}

export class TraefikApiError extends Error {
  override name = "TraefikApiError";
  readonly statusCode: number | undefined;
  constructor(message: string, statusCode?: number, options?: ErrorOptions) {
    super(message, options);
    this.statusCode = statusCode;
  }
}

export interface TraefikApiOptions {
  /** e.g. `http://127.0.0.1:8080` (no trailing `/api`). */
  readonly baseUrl: string;
  /** Per request. @default 5000 */
  readonly timeoutMs?: number;
  /** @default 100 */
  readonly perPage?: number;
}

export class TraefikApi {
  readonly baseUrl: string;
  readonly #timeoutMs: number;
  readonly #perPage: number;

  constructor(options: TraefikApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#perPage = options.perPage ?? 100;
  }

  async #get(
    path: string,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: unknown; nextPage: number }> {
    const url = this.baseUrl + path;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let res;
    try {
      res = await request(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (cause) {
      throw new TraefikApiError(`Traefik API unreachable at ${url}: ${messageOf(cause)}`, undefined, {
        cause,
      });
    }
    const text = await res.body.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch (cause) {
      throw new TraefikApiError(
        `Traefik API ${url} returned non-JSON (HTTP ${res.statusCode})`,
        res.statusCode,
        { cause },
      );
    }
    const next = Number(res.headers["x-next-page"] ?? 1);
    return { status: res.statusCode, body, nextPage: Number.isFinite(next) ? next : 1 };
  }

  /** Every item of a paginated list; a 404 (endpoint absent) is an empty list. */
  async list<T>(path: string, signal?: AbortSignal): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; ;) {
      const sep = path.includes("?") ? "&" : "?";
      const { status, body, nextPage } = await this.#get(
        `${path}${sep}per_page=${this.#perPage}&page=${page}`,
        signal,
      );
      if (status === 404) return items;
      if (status === 400 && page > 1) return items;
      if (status !== 200 || !Array.isArray(body)) {
        throw new TraefikApiError(
          `Traefik API ${path} answered HTTP ${status}: ${JSON.stringify(body)}`,
          status,
        );
      }
      items.push(...(body as T[]));
      if (nextPage <= page) return items;
      page = nextPage;
    }
  }

  routers(protocol: Protocol, signal?: AbortSignal): Promise<RouterInfo[]> {
    return this.list<RouterInfo>(`/api/${protocol}/routers`, signal);
  }

  services(protocol: Protocol, signal?: AbortSignal): Promise<ServiceInfo[]> {
    return this.list<ServiceInfo>(`/api/${protocol}/services`, signal);
  }

  middlewares(protocol: "http" | "tcp", signal?: AbortSignal): Promise<MiddlewareInfo[]> {
    return this.list<MiddlewareInfo>(`/api/${protocol}/middlewares`, signal);
  }

  entryPoints(signal?: AbortSignal): Promise<EntryPointInfo[]> {
    return this.list<EntryPointInfo>("/api/entrypoints", signal);
  }

  /** One router by full name (`name@provider`), or undefined when Traefik does not have it. */
  async router(protocol: Protocol, fullName: string, signal?: AbortSignal): Promise<RouterInfo | undefined> {
    const { status, body } = await this.#get(
      `/api/${protocol}/routers/${encodeURIComponent(fullName)}`,
      signal,
    );
    if (status === 404) return undefined;
    if (status !== 200)
      throw new TraefikApiError(`Traefik API answered HTTP ${status} for router ${fullName}`, status);
    return body as RouterInfo;
  }

  async version(signal?: AbortSignal): Promise<{ Version?: string; Codename?: string }> {
    const { status, body } = await this.#get("/api/version", signal);
    if (status !== 200) throw new TraefikApiError(`Traefik API /api/version answered HTTP ${status}`, status);
    return body as { Version?: string };
  }
}
