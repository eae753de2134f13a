/**
 * The declarative half of the shard kit: plain objects that describe a shard.
 * Nothing here talks to the network, so a shard definition can be inspected
 * (manifest, tests) without serving it.
 */
import type { z } from "zod";
import type {
  CallToolResult,
  GetPromptResult,
  InputRequiredResult,
  LoggingLevel,
  ServerContext,
  ToolAnnotations,
} from "@modelcontextprotocol/server";
import type { Logger } from "../log.ts";
import type { VerifiedCaller } from "./caller-identity.ts";
import type { ShardEvents } from "./events.ts";

/** Tool, prompt and shard names the gateway can prefix and expose unchanged. */
export const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** What a tool handler gets besides its parsed arguments. */
export interface ToolContext {
  /** Aborted when the client cancels the call or the shard shuts down past its grace period. */
  readonly signal: AbortSignal;
  /** Child of the shard logger, bound to the tool name. */
  readonly logger: Logger;
  /**
   * Reports progress to the caller, when it asked for progress (a no-op
   * otherwise). `progress` should increase with every call.
   */
  sendProgress(progress: number, total?: number, message?: string): Promise<void>;
  /**
   * Sends a `notifications/message` to the caller of this call. 2025-era
   * sessions filter it by `logging/setLevel`; 2026-07-28 requests only get it
   * when they asked with a per-request log level.
   */
  log(level: LoggingLevel, data: unknown): Promise<void>;
  /**
   * Multi-round-trip input (2026-07-28 MRTR, served to 2025-era sessions as
   * real elicitation/sampling/roots requests by the SDK's legacy shim): what
   * the caller answered this round and the verified `requestState` of the
   * previous round. Return `inputRequired(...)` to ask for more.
   */
  readonly input: {
    readonly responses: ServerContext["mcpReq"]["inputResponses"];
    /** The payload `mintState` sealed last round; undefined on the first round. */
    state<T extends Record<string, unknown>>(): T | undefined;
    /** Seals (HMAC, with expiry) a payload for `inputRequired({ requestState })`. */
    mintState(payload: Record<string, unknown>): Promise<string>;
  };
  /** The capabilities the caller declared (initialize on 2025, the request envelope on 2026). */
  readonly clientCapabilities: Readonly<Record<string, unknown>> | undefined;
  /** Publishes list changes and resource updates to every connected client of this shard. */
  readonly events: ShardEvents;
  /**
   * Who is calling, as the gateway signed it for this shard (McpShard
   * `spec.callerIdentity.forward`), verified against the gateway's keys.
   * Present only when the shard is served with `callerIdentity` and the call
   * carried a valid identity; a call with an invalid one never reaches the
   * handler. Undefined when the call carried none.
   */
  readonly caller?: VerifiedCaller;
}

/**
 * What a handler may return: a string (one text block), a full MCP
 * `CallToolResult` (recognised by its `content` array), or any other
 * JSON-serialisable value (rendered as JSON text plus `structuredContent`).
 */
export type ToolReturn =
  | string
  | CallToolResult
  | InputRequiredResult
  | Record<string, unknown>
  | readonly unknown[]
  | number
  | boolean
  | null;

export type ToolInputSchema = z.ZodObject<z.ZodRawShape>;

export interface ToolDefinition<I extends ToolInputSchema = ToolInputSchema> {
  /** Matches NAME_PATTERN; unique within the shard. */
  readonly name: string;
  /** Shown to the model: say what the tool does and when to use it. */
  readonly description: string;
  /** Arguments as a zod object; invalid arguments never reach the handler. */
  readonly input: I;
  /** MCP hints (readOnlyHint, destructiveHint, ...). @default none */
  readonly annotations?: ToolAnnotations;
  /** Optional human title. @default the name */
  readonly title?: string;
  readonly handler: (args: z.infer<I>, ctx: ToolContext) => Promise<ToolReturn> | ToolReturn;
}

export interface ResourceDefinition {
  /** Matches NAME_PATTERN. */
  readonly name: string;
  /**
   * A fixed URI, e.g. `traefik://routers`, or an RFC 6570 template such as
   * `test://items/{id}` (served by `resources/templates/list`; the variables
   * reach `read`).
   */
  readonly uri: string;
  /** @default none */
  readonly title?: string;
  /** @default none */
  readonly description?: string;
  /** @default "text/plain" for strings, "application/json" otherwise */
  readonly mimeType?: string;
  /**
   * Clients may `resources/subscribe` to it; the shard announces changes with
   * `events.resourceUpdated(uri)`. @default false
   */
  readonly subscribable?: boolean;
  /** Returns the text, a JSON-serialisable value, or a full `ReadResourceResult`. */
  readonly read: (ctx: ResourceReadContext) => Promise<unknown>;
}

export interface ResourceReadContext {
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** The URI read (for a template, the expanded one). */
  readonly uri: string;
  /** Template variables; empty for a fixed URI. */
  readonly variables: Readonly<Record<string, string | string[]>>;
  /** The verified caller, as for tools (ToolContext.caller). */
  readonly caller?: VerifiedCaller;
}

export interface PromptDefinition<
  A extends z.ZodObject<Record<string, z.ZodType<string | undefined>>> = z.ZodObject<
    Record<string, z.ZodType<string | undefined>>
  >,
> {
  /** Matches NAME_PATTERN. */
  readonly name: string;
  /** @default none */
  readonly description?: string;
  /** Prompt arguments (MCP prompt arguments are strings). @default no arguments */
  readonly args?: A;
  /**
   * Suggestions for `completion/complete` per argument name (the value typed
   * so far comes in). @default no completions
   */
  readonly complete?: Readonly<
    Record<string, (value: string) => readonly string[] | Promise<readonly string[]>>
  >;
  /**
   * Returns the user message text, a full `GetPromptResult`, or
   * `inputRequired(...)` to ask the caller first (see ToolContext.input).
   */
  readonly render: (args: z.infer<A>, ctx: PromptContext) => Promise<PromptReturn> | PromptReturn;
}

export type PromptReturn = string | GetPromptResult | InputRequiredResult;

export interface PromptContext {
  readonly input: ToolContext["input"];
  readonly clientCapabilities: ToolContext["clientCapabilities"];
  /** The verified caller, as for tools (ToolContext.caller). */
  readonly caller?: VerifiedCaller;
}

/** Result of a dependency check; throwing counts as `{ ok: false, message: error.message }`. */
export interface CheckOutcome {
  readonly ok: boolean;
  readonly message?: string;
}

export interface HealthCheck {
  /** Human-readable, e.g. "Traefik API reachable". */
  readonly name: string;
  /**
   * Resolves with nothing or a message when healthy, an outcome, or throws.
   * Aborted when `timeoutMs` passes.
   */
  readonly check: (signal: AbortSignal) => Promise<void | string | CheckOutcome>;
  /** @default 2000 */
  readonly timeoutMs?: number;
}

export interface ShardSpec {
  /** Matches NAME_PATTERN; used as the MCP server name and in metrics. */
  readonly name: string;
  /** Semver of the shard. */
  readonly version: string;
  /** @default none */
  readonly description?: string;
  /** Sent to clients in the initialize result. @default none */
  readonly instructions?: string;
  // Handlers are contravariant in their argument type; `any` lets tools with
  // different schemas share one array while `tool()` keeps each one typed.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly tools: readonly ToolDefinition<any>[];
  /** @default [] */
  readonly resources?: readonly ResourceDefinition[];
  /** @default [] */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly prompts?: readonly PromptDefinition<any>[];
  /** Dependency checks reported by `/health`. @default [] */
  readonly checks?: readonly HealthCheck[];
}

/** A validated shard: every list present, names checked and unique. */
export interface Shard extends ShardSpec {
  readonly resources: readonly ResourceDefinition[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly prompts: readonly PromptDefinition<any>[];
  readonly checks: readonly HealthCheck[];
}

/** Identity helper that keeps the handler's argument type tied to `input`. */
export function tool<I extends ToolInputSchema>(definition: ToolDefinition<I>): ToolDefinition<I> {
  return definition;
}

export function resource(definition: ResourceDefinition): ResourceDefinition {
  return definition;
}

export function prompt<A extends z.ZodObject<Record<string, z.ZodType<string | undefined>>>>(
  definition: PromptDefinition<A>,
): PromptDefinition<A> {
  return definition;
}

function checkNames(kind: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (!NAME_PATTERN.test(name)) {
      throw new Error(`${kind} name ${JSON.stringify(name)} must match ${String(NAME_PATTERN)}`);
    }
    if (seen.has(name)) throw new Error(`duplicate ${kind} name ${JSON.stringify(name)}`);
    seen.add(name);
  }
}

/** Validates a shard declaration; throws at startup rather than at the first call. */
export function defineShard(spec: ShardSpec): Shard {
  checkNames("shard", [spec.name]);
  if (!spec.version) throw new Error(`shard ${spec.name}: version is required`);
  checkNames(
    "tool",
    spec.tools.map((t) => t.name),
  );
  const resources = spec.resources ?? [];
  const prompts = spec.prompts ?? [];
  checkNames(
    "resource",
    resources.map((r) => r.name),
  );
  checkNames(
    "prompt",
    prompts.map((p) => p.name),
  );
  const uris = new Set<string>();
  for (const r of resources) {
    if (uris.has(r.uri)) throw new Error(`duplicate resource uri ${JSON.stringify(r.uri)}`);
    uris.add(r.uri);
  }
  return { ...spec, resources, prompts, checks: spec.checks ?? [] };
}
