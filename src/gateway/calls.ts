/**
 * What every front door (MCP, legacy SSE, OpenAPI, admin API) does to call a
 * tool, read a resource or get a prompt: look up, check the key, validate the
 * arguments, run it on the shard's upstream, count it, log it.
 */
import {
  McpError,
  type CallToolResult,
  type CompleteResult,
  type GetPromptResult,
  type ReadResourceResult,
} from "@modelcontextprotocol/sdk/types.js";
import { DEFAULT_ACTIVITY_RECORDING } from "../api/index.ts";
import type { Logger } from "../log.ts";
import { callerOf, type ActivityLog, type SecretScanDecision } from "./activity.ts";
import type { IdentitySigner, Principal } from "./auth/index.ts";
import { CallLog } from "./call-log.ts";
import { resourceShard } from "./catalogue/build.ts";
import { matchesAny } from "./catalogue/naming.ts";
import type { CatalogueService } from "./catalogue/service.ts";
import { GatewayError } from "./errors.ts";
import { DEFAULT_MAX_DEPTH, exceedsDepth, InFlightLimits } from "./limits/index.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { messageOf } from "../util/index.ts";
import {
  redactArgumentValues,
  scanForSecrets,
  SecretRedactor,
  type SecretScanMode,
} from "./secrets/index.ts";
import type { CallOptions } from "./upstream/upstream.ts";
import type { ShardTarget } from "./registry/types.ts";

/** How long a call to a name not yet known waits for shards still being listed for the first time. */
const FIRST_LISTING_WAIT_MS = 10_000;

/** One call's spec.policy.secretScan, and what it decided so far (the activity log records it). */
interface SecretScan {
  readonly mode: SecretScanMode;
  readonly shard: string;
  readonly tool: string;
  decision: SecretScanDecision;
}

export type InvokeOptions = Omit<CallOptions, "displayName"> & {
  /** The caller's session, when the door has sessions (its in-flight cap). */
  readonly session?: string;
};

/** The same error, its message (and data) with known secrets masked. */
function redactError(error: unknown, secrets: SecretRedactor): unknown {
  if (!(error instanceof Error)) return error;
  const data: unknown = error instanceof McpError ? error.data : undefined;
  if (!secrets.holds(error.message) && !(data !== undefined && secrets.holds(JSON.stringify(data))))
    return error;
  const message = secrets.redact(error.message.replace(/^MCP error -?\d+: /, ""));
  if (error instanceof GatewayError)
    return new GatewayError(error.kind, message, { data: secrets.redactDeep(error.data) });
  if (error instanceof McpError) return new McpError(error.code, message, secrets.redactDeep(error.data));
  return new Error(message);
}

export class GatewayCalls {
  #catalogue: CatalogueService;
  #metrics: GatewayMetrics;
  #activity: ActivityLog;
  #logger: Logger;
  #callLog: CallLog;
  #shutdown: AbortSignal | undefined;
  #secrets: SecretRedactor;
  #limits: InFlightLimits;
  #maxDepth: number;
  #identity: IdentitySigner | undefined;

  constructor(deps: {
    catalogue: CatalogueService;
    metrics: GatewayMetrics;
    activity: ActivityLog;
    logger: Logger;
    /** Aborted when a drain's grace period ends: every call still running is cancelled upstream. */
    shutdown?: AbortSignal;
    /** Known secret values, masked in results, errors and the activity log. @default none */
    secrets?: SecretRedactor;
    /** Calls in flight per session and per key. @default 64 and 256 */
    limits?: InFlightLimits;
    /** Deepest nesting accepted in arguments. @default 128 */
    maxDepth?: number;
    /** The per-call log line (call-log.ts). @default sampled */
    callLog?: CallLog;
    /** Signs the caller's identity for shards that ask for it (spec.callerIdentity). @default none sent */
    identity?: IdentitySigner;
  }) {
    this.#catalogue = deps.catalogue;
    this.#metrics = deps.metrics;
    this.#activity = deps.activity;
    this.#logger = deps.logger;
    this.#callLog = deps.callLog ?? new CallLog(deps.logger);
    this.#shutdown = deps.shutdown;
    this.#secrets = deps.secrets ?? new SecretRedactor();
    this.#limits = deps.limits ?? new InFlightLimits();
    this.#maxDepth = deps.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#identity = deps.identity;
  }

  /** The caller's identity, signed for this shard when it asks for it (no await otherwise: the hot path). */
  #identityFor(principal: Principal, target: ShardTarget): Promise<{ identity?: string }> | undefined {
    if (!target.callerIdentity || !this.#identity) return undefined;
    return this.#identity.sign(principal, target.key).then((identity) => ({ identity }));
  }

  /**
   * Runs `fn` under the caller's in-flight caps, cancelled by the shutdown
   * signal too (the upstream's request runner follows both with the one
   * controller it has per call); its result and error leave with known
   * secrets masked.
   */
  async #cancellable<T>(
    principal: Principal,
    options: InvokeOptions,
    fn: (options: InvokeOptions) => Promise<T>,
  ): Promise<T> {
    const release = this.#limits.acquire(principal.id, options.session);
    try {
      return this.#secrets.redactDeep(
        await fn(this.#shutdown ? { ...options, shutdown: this.#shutdown } : options),
      );
    } catch (error) {
      throw redactError(error, this.#secrets);
    } finally {
      release();
    }
  }

  /**
   * A name this replica does not know, while a shard is still being listed
   * for the first time, waits for that listing (bounded): the registry
   * announced the shard to every replica at once, and another replica behind
   * the same Service may already have listed its tools to this caller.
   */
  async #afterFirstListings(principal: Principal, name: string, signal: AbortSignal | undefined) {
    if (!principal.mayCall(name) || this.#catalogue.settled) return undefined;
    await this.#catalogue.untilSettled(FIRST_LISTING_WAIT_MS, signal);
    return this.#catalogue.catalogue.toolsByName.get(name);
  }

  async callTool(
    principal: Principal,
    name: string,
    args: unknown,
    options: InvokeOptions = {},
  ): Promise<CallToolResult> {
    const tool =
      this.#catalogue.catalogue.toolsByName.get(name) ??
      (await this.#afterFirstListings(principal, name, options.signal));
    // A tool the key may not call does not exist for it: the same answer as a
    // missing one, or a narrow key could enumerate the hidden catalogue.
    if (!tool || !principal.mayCall(name)) throw new GatewayError("invalidParams", `unknown tool: ${name}`);
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) {
      throw new GatewayError("invalidParams", `arguments of ${name} must be an object`);
    }
    if (exceedsDepth(args, this.#maxDepth))
      throw new GatewayError(
        "invalidParams",
        `arguments of ${name} are nested deeper than ${this.#maxDepth} levels`,
      );
    const argObject = args as Record<string, unknown> | undefined;
    const check = tool.validator()(argObject ?? {});
    if (!check.ok)
      throw new GatewayError("invalidArguments", `invalid arguments for tool ${name}: ${check.message}`);
    const upstream = this.#catalogue.upstream(tool.shard);
    if (!upstream)
      throw new GatewayError("shardUnavailable", `shard ${tool.shard} of tool ${name} is not routable`);

    const recording = upstream.target.activity ?? DEFAULT_ACTIVITY_RECORDING;
    const audit = matchesAny(tool.tool, recording.audit ?? []);
    const started = performance.now();
    let outcome: "ok" | "tool_error" | "error" = "error";
    let errorText: string | undefined;
    const scan: SecretScan = {
      mode: upstream.target.policy.secretScan,
      shard: tool.shard,
      tool: name,
      decision: upstream.target.policy.secretScan === "off" ? "off" : "clean",
    };
    let result: CallToolResult | undefined;
    let failure: { error: unknown } | undefined;
    try {
      const sent = await this.#scanned(scan, "arguments", argObject);
      const signing = this.#identityFor(principal, upstream.target);
      const identity = signing ? await signing : undefined;
      const answered = await this.#cancellable(principal, options, (o) =>
        upstream.callTool(tool.tool, sent, { ...o, ...identity, displayName: name }),
      );
      result = await this.#scanned(scan, "result", answered);
      outcome = result.isError ? "tool_error" : "ok";
    } catch (error) {
      failure = { error };
      // Names only in the log: a shard's error may echo the values it was given.
      errorText = redactArgumentValues(messageOf(error), argObject);
      const kind = error instanceof GatewayError ? error.kind : "upstream";
      this.#metrics.upstreamErrors.inc({ shard: tool.shard, kind });
    }
    const seconds = (performance.now() - started) / 1000;
    this.#metrics.toolCalls.record(tool.shard, name, outcome, seconds);
    const entry = {
      time: new Date().toISOString(),
      ...callerOf(principal),
      tool: name,
      shard: tool.shard,
      durationMs: Math.round(seconds * 1e6) / 1e3,
      outcome,
      ...(errorText ? { error: errorText } : {}),
      argumentNames: Object.keys(argObject ?? {}).sort(),
      ...(recording.recordArguments ? { arguments: this.#secrets.redactDeep(argObject ?? {}) } : {}),
      ...(recording.recordResults && result ? { result } : {}),
      ...(audit ? { audit: true } : {}),
      secretScan: scan.decision,
    };
    this.#callLog.record({
      key: principal.id,
      tool: name,
      shard: tool.shard,
      durationMs: entry.durationMs,
      outcome,
      ...(errorText ? { error: errorText } : {}),
      argumentNames: entry.argumentNames,
      ...(audit ? { audit: true } : {}),
    });
    if (audit) {
      // An audited call's result leaves only with its record stored.
      await this.#activity.addDurably(entry).catch((error: unknown) => {
        throw new GatewayError("internal", `the audit record of ${name} could not be stored`, {
          cause: error,
        });
      });
    } else {
      this.#activity.add(entry);
    }
    if (failure) throw failure.error;
    return result!;
  }

  /**
   * `value` as spec.policy.secretScan wants it: unchanged when off or clean,
   * masked (redact), or refused (block, an error the activity log records);
   * every finding is counted and logged (rule names, never the value).
   */
  async #scanned<T>(scan: SecretScan, direction: "arguments" | "result", value: T): Promise<T> {
    if (scan.mode === "off" || value === undefined) return value;
    const finding = await scanForSecrets(value);
    if (!finding) return value;
    const action = scan.mode === "block" ? "blocked" : "redacted";
    scan.decision = action;
    this.#metrics.secretFindings.inc({ shard: scan.shard, direction, action });
    const rules = finding.rules.join(", ");
    this.#logger.warn(
      { shard: scan.shard, tool: scan.tool, direction, action, rules: finding.rules },
      "secret scan",
    );
    if (scan.mode === "block")
      throw new GatewayError(
        "forbidden",
        `the ${direction} of tool ${scan.tool} hold what looks like a secret (${rules}); spec.policy.secretScan blocks it`,
      );
    return finding.masked as T;
  }

  async readResource(
    principal: Principal,
    uri: string,
    options: InvokeOptions = {},
  ): Promise<ReadResourceResult> {
    if (!principal.mayReadResource(uri))
      throw new GatewayError("forbidden", `key ${principal.id} may not read resource ${uri}`);
    const shard = resourceShard(this.#catalogue.catalogue, uri);
    if (!shard) throw new GatewayError("invalidParams", `unknown resource: ${uri}`);
    const upstream = this.#catalogue.upstream(shard);
    if (!upstream)
      throw new GatewayError("shardUnavailable", `shard ${shard} of resource ${uri} is not routable`);
    const signing = this.#identityFor(principal, upstream.target);
    const identity = signing ? await signing : undefined;
    return this.#cancellable(principal, options, (o) => upstream.readResource(uri, { ...o, ...identity }));
  }

  async getPrompt(
    principal: Principal,
    name: string,
    args: unknown,
    options: InvokeOptions = {},
  ): Promise<GetPromptResult> {
    if (!principal.mayGetPrompt(name))
      throw new GatewayError("forbidden", `key ${principal.id} may not get prompt ${name}`);
    const prompt = this.#catalogue.catalogue.promptsByName.get(name);
    if (!prompt) throw new GatewayError("invalidParams", `unknown prompt: ${name}`);
    const upstream = this.#catalogue.upstream(prompt.shard);
    if (!upstream)
      throw new GatewayError("shardUnavailable", `shard ${prompt.shard} of prompt ${name} is not routable`);
    const signing = this.#identityFor(principal, upstream.target);
    const identity = signing ? await signing : undefined;
    return this.#cancellable(principal, options, (o) =>
      upstream.getPrompt(prompt.prompt, args as Record<string, string> | undefined, {
        ...o,
        ...identity,
        displayName: name,
      }),
    );
  }

  /**
   * completion/complete for a prompt argument (by the gateway's prompt name)
   * or a resource template (by URI), on the shard that owns it.
   */
  async complete(
    principal: Principal,
    params: Record<string, unknown>,
    options: InvokeOptions = {},
  ): Promise<CompleteResult> {
    const ref = (params.ref ?? {}) as { type?: unknown; name?: unknown; uri?: unknown };
    if (ref.type === "ref/prompt" && typeof ref.name === "string") {
      if (!principal.mayGetPrompt(ref.name))
        throw new GatewayError("forbidden", `key ${principal.id} may not get prompt ${ref.name}`);
      const prompt = this.#catalogue.catalogue.promptsByName.get(ref.name);
      if (!prompt) throw new GatewayError("invalidParams", `unknown prompt: ${ref.name}`);
      const upstream = this.#routable(prompt.shard, `prompt ${ref.name}`);
      return this.#cancellable(principal, options, (o) =>
        upstream.complete({ ...params, ref: { ...ref, name: prompt.prompt } }, o),
      );
    }
    if (ref.type === "ref/resource" && typeof ref.uri === "string") {
      if (!principal.mayReadResource(ref.uri))
        throw new GatewayError("forbidden", `key ${principal.id} may not read resource ${ref.uri}`);
      const shard =
        this.#catalogue.catalogue.resourceTemplates.find((t) => t.definition.uriTemplate === ref.uri)
          ?.shard ?? resourceShard(this.#catalogue.catalogue, ref.uri);
      if (!shard) throw new GatewayError("invalidParams", `unknown resource: ${ref.uri}`);
      const upstream = this.#routable(shard, `resource ${ref.uri}`);
      return this.#cancellable(principal, options, (o) => upstream.complete(params, o));
    }
    throw new GatewayError(
      "invalidParams",
      "completion/complete needs ref/prompt with a name or ref/resource with a uri",
    );
  }

  #routable(shard: string, what: string) {
    const upstream = this.#catalogue.upstream(shard);
    if (!upstream) throw new GatewayError("shardUnavailable", `shard ${shard} of ${what} is not routable`);
    return upstream;
  }
}
