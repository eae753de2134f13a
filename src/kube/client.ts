/**
 * A thin Kubernetes REST client on undici: JSON in, JSON out, typed errors,
 * streaming watches. The requests stay small and visible so the informer
 * controls exactly what a watch does on failure; connections are pooled
 * (keep-alive) for the life of the client.
 */
import { Agent, type Dispatcher } from "undici";
import type { KubeAccess } from "./config.ts";
import { resourcePath, type ResourceType } from "./resources.ts";
import type { KubeObject, ObjectList, Status, WatchEvent } from "./types.ts";
import { messageOf } from "../util/index.ts";

/** A non-2xx answer from the apiserver (or no answer at all: status 0). */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  /** HTTP status; 0 when the request never got one (connection refused, reset). */
  readonly status: number;
  /** The Status reason, e.g. NotFound, Conflict, Expired, Invalid, Forbidden. */
  readonly reason: string;
  constructor(message: string, status: number, reason: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
    this.reason = reason;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409;
}

/** 410 Gone / reason Expired: a watch or list from a resourceVersion that etcd compacted. */
export function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && (error.status === 410 || error.reason === "Expired");
}

export interface RequestOptions {
  readonly method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly body?: unknown;
  /** @default application/json */
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** @default application/json */
  readonly accept?: string;
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly signal?: AbortSignal;
}

export interface WatchOptions extends ListOptions {
  readonly resourceVersion?: string;
  /** Server-side watch duration; the stream then ends cleanly. @default 300 */
  readonly timeoutSeconds?: number;
}

export interface ApplyOptions {
  /**
   * Who owns the applied fields (the caller's name: the client serves the
   * operator, the gateway and the tests alike, and each owns different fields).
   */
  readonly fieldManager: string;
  /** Take over fields other managers own (controllers must). @default true */
  readonly force?: boolean;
  /** e.g. "status" to apply through the status subresource. */
  readonly subresource?: string;
}

/** How long auth headers are reused; well below any token's lifetime. */
const AUTH_REFRESH_MS = 10_000;

export class KubeClient {
  readonly server: string;
  readonly #access: KubeAccess;
  readonly #origin: string;
  readonly #prefix: string;
  #agent: Promise<Agent> | undefined;
  #auth: { at: number; options: { agent: Agent; headers: Record<string, string> } } | undefined;
  #authPending: Promise<{ agent: Agent; headers: Record<string, string> }> | undefined;

  constructor(access: KubeAccess) {
    this.#access = access;
    this.server = access.server;
    const url = new URL(access.server);
    this.#origin = url.origin;
    this.#prefix = url.pathname.replace(/\/$/, "");
  }

  /**
   * TLS material is read once; auth headers at most every few seconds
   * (service account tokens rotate, but reading the kubeconfig's files on
   * every request was the client's largest cost at scale).
   */
  async #options(): Promise<{ agent: Agent; headers: Record<string, string> }> {
    const cached = this.#auth;
    if (cached && Date.now() - cached.at < AUTH_REFRESH_MS) return cached.options;
    const pending = this.#authPending ?? (this.#authPending = this.#loadOptions());
    try {
      const options = await pending;
      this.#auth = { at: Date.now(), options };
      return options;
    } finally {
      if (this.#authPending === pending) this.#authPending = undefined;
    }
  }

  async #loadOptions(): Promise<{ agent: Agent; headers: Record<string, string> }> {
    const { tls } = this.#access;
    this.#agent ??= Promise.resolve(
      new Agent({
        connect: {
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          rejectUnauthorized: tls.rejectUnauthorized,
          servername: tls.servername,
        },
        keepAliveTimeout: 30_000,
      }),
    );
    return { agent: await this.#agent, headers: await this.#access.headers() };
  }

  #url(path: string, query?: RequestOptions["query"]): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.#prefix + path + (qs ? `?${qs}` : "");
  }

  async #send(path: string, options: RequestOptions, stream: boolean): Promise<Dispatcher.ResponseData> {
    const { agent, headers } = await this.#options();
    const method = options.method ?? "GET";
    const timeout = options.timeoutMs ?? 30_000;
    let response: Dispatcher.ResponseData;
    try {
      response = await agent.request({
        origin: this.#origin,
        path: this.#url(path, options.query),
        method,
        headers: {
          ...headers,
          accept: options.accept ?? "application/json",
          ...(options.body !== undefined
            ? { "content-type": options.contentType ?? "application/json" }
            : {}),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
        headersTimeout: timeout,
        bodyTimeout: stream ? 0 : timeout,
      });
    } catch (cause) {
      const why = messageOf(cause);
      throw new KubeApiError(`${method} ${path}: ${why}`, 0, "ConnectionFailed", { cause });
    }
    if (response.statusCode >= 400) {
      const text = await response.body.text().catch(() => "");
      let status: Partial<Status> = {};
      try {
        status = JSON.parse(text) as Status;
      } catch {
        status = { message: text };
      }
      throw new KubeApiError(
        `${method} ${path}: ${response.statusCode} ${status.message ?? ""}`.trim(),
        response.statusCode,
        status.reason ?? "Unknown",
      );
    }
    return response;
  }

  /** One request; the parsed JSON answer. */
  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.#send(path, options, false);
    const text = await response.body.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * One request whose answer is text (pods/log), read up to `maxBytes`: the
   * rest is discarded unread, so a huge log never sits in memory.
   */
  async text(
    path: string,
    options: RequestOptions & { readonly maxBytes: number },
  ): Promise<{ text: string; truncated: boolean }> {
    const response = await this.#send(path, { accept: "*/*", ...options }, false);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= options.maxBytes) {
        response.body.destroy();
        break;
      }
    }
    const all = Buffer.concat(chunks);
    return { text: all.subarray(0, options.maxBytes).toString("utf8"), truncated: size > options.maxBytes };
  }

  async get<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    return this.request<T>(resourcePath(type, namespace, name));
  }

  /** get, or undefined when the object does not exist. */
  async find<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(type, namespace, name);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every page of a list; the resourceVersion is the one to watch from. */
  async list<T extends KubeObject>(type: ResourceType, options: ListOptions = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let next: string | undefined;
    do {
      const page = await this.request<ObjectList<T>>(resourcePath(type, options.namespace), {
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: 500,
          continue: next,
        },
        signal: options.signal,
      });
      items.push(...page.items);
      resourceVersion = page.metadata.resourceVersion;
      next = page.metadata.continue || undefined;
    } while (next);
    return { items, metadata: { resourceVersion } };
  }

  /**
   * A watch stream of events, one per line. It ends when the server closes the
   * watch (timeoutSeconds) and throws KubeApiError on HTTP errors, connection
   * loss, and ERROR events (410 Gone among them).
   */
  async *watch<T extends KubeObject>(
    type: ResourceType,
    options: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>> {
    const timeoutSeconds = options.timeoutSeconds ?? 300;
    const response = await this.#send(
      resourcePath(type, options.namespace),
      {
        query: {
          watch: true,
          allowWatchBookmarks: true,
          resourceVersion: options.resourceVersion,
          timeoutSeconds,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
        },
        signal: options.signal,
      },
      true,
    );
    let buffered = "";
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Buffer, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          const event = JSON.parse(line) as WatchEvent<T>;
          if (event.type === "ERROR") {
            const status = event.object as unknown as Status;
            throw new KubeApiError(
              `watch ${type.plural}: ${status.message ?? "error"}`,
              status.code ?? 500,
              status.reason ?? "Unknown",
            );
          }
          yield event;
        }
      }
    } catch (cause) {
      if (cause instanceof KubeApiError) throw cause;
      if (options.signal?.aborted) return;
      throw new KubeApiError(`watch ${type.plural}: stream broken`, 0, "ConnectionLost", { cause });
    } finally {
      response.body.destroy();
    }
  }

  async create<T extends KubeObject>(type: ResourceType, obj: T): Promise<T> {
    return this.request<T>(resourcePath(type, obj.metadata?.namespace), { method: "POST", body: obj });
  }

  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: { propagationPolicy?: "Foreground" | "Background" | "Orphan"; uid?: string } = {},
  ): Promise<void> {
    await this.request(resourcePath(type, namespace, name), {
      method: "DELETE",
      body: {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: options.propagationPolicy ?? "Background",
        ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
      },
    });
  }

  async replace<T extends KubeObject>(type: ResourceType, obj: T, subresource?: string): Promise<T> {
    return this.request<T>(resourcePath(type, obj.metadata?.namespace, obj.metadata?.name, subresource), {
      method: "PUT",
      body: obj,
    });
  }

  /** A JSON merge patch. */
  async mergePatch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: string,
  ): Promise<T> {
    return this.request<T>(resourcePath(type, namespace, name, subresource), {
      method: "PATCH",
      body: patch,
      contentType: "application/merge-patch+json",
    });
  }

  /**
   * Server-side apply: the object states every field this manager owns; fields
   * it stops stating are removed, fields other managers own are left alone.
   */
  async apply<T extends KubeObject>(type: ResourceType, obj: T, options: ApplyOptions): Promise<T> {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`apply ${type.kind}: metadata.name is required`);
    return this.request<T>(resourcePath(type, obj.metadata?.namespace, name, options.subresource), {
      method: "PATCH",
      query: { fieldManager: options.fieldManager, force: options.force ?? true },
      // JSON is valid YAML, which is what the apply content type carries.
      contentType: "application/apply-patch+yaml",
      body: obj,
    });
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    const agent = await this.#agent;
    await agent?.close();
  }
}
