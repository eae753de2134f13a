/**
 * What buildGatewayApp takes and gives (app.ts builds it): the types apart
 * from the wiring, so app.ts stays one concern.
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "../log.ts";
import type { ActivityLog, ActivityLogOptions } from "./activity.ts";
import type { Gate, IdentitySigner, KeyStore } from "./auth/index.ts";
import type { CallLogMode } from "./call-log.ts";
import type { CatalogueService, CatalogueTuning } from "./catalogue/service.ts";
import type { DrainPhase } from "./drain.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { Registry } from "./registry/types.ts";
import type { SecretRedactor } from "./secrets/index.ts";
import type { ConsoleOidcSettings } from "./ui/oidc.ts";

/** The catalogue settings (bareNames, refresh, down grace, reconnect backoff) pass through to it. */
export interface GatewayOptions extends CatalogueTuning {
  readonly registry: Registry;
  /** @default silent */
  readonly logger?: Logger;
  /**
   * Secret shared by every replica to sign session ids (>= 16 bytes).
   * @default random per process: sessions then work with one replica only
   */
  readonly sessionSecret?: string;
  /** @default 604800 */
  readonly sessionMaxAgeSeconds?: number;
  readonly keys?: KeyStore; // @default no keys: auth off
  readonly gate?: Gate; // keys, OAuth and policy (run.ts reloads its parts). @default a Gate of `keys`
  readonly identitySigner?: IdentitySigner; // for shards with spec.callerIdentity. @default a key made at start
  /**
   * Browser origins allowed on every route but /health, /ready, /metrics
   * ("*" for any). Requests without Origin are allowed (non-browser clients);
   * same-origin ones only when the Host is loopback or a listed origin's host.
   * @default none
   */
  readonly allowedOrigins?: readonly string[];
  /** Origins granted CORS. @default none (CORS off) */
  readonly corsOrigins?: readonly string[];
  /** @default 1048576 */
  readonly maxBodyBytes?: number;
  /** Where the activity log is stored and for how long. @default in-memory SQLite, 30 days, 100000 entries */
  readonly activity?: Omit<ActivityLogOptions, "logger">;
  /** Shorthand for activity.retention.maxEntries. */
  readonly activityCapacity?: number;
  /** @default 15000 */
  readonly keepAliveMs?: number;
  /** The console also signs in with this OpenID Connect provider. @default API keys only */
  readonly consoleOidc?: ConsoleOidcSettings;
  /** Prebuilt console assets (console.js, console.css). @default dist/ui, else bundled from source */
  readonly uiAssetsDir?: string;
  /**
   * Secret values never to let out (results, errors, activity log); spec.auth
   * values and plain API keys are added to it. Pass the one the logger masks with.
   * @default a new one
   */
  readonly secrets?: SecretRedactor;
  /** Most messages in one JSON-RPC batch. @default 64 */
  readonly maxBatchSize?: number;
  /** Calls one session may have in flight. @default 64 */
  readonly maxInFlightPerSession?: number;
  /** Calls one API key may have in flight. @default 256 */
  readonly maxInFlightPerKey?: number;
  /** Deepest nesting accepted in tool arguments and in shards' answers. @default 128 */
  readonly maxNestingDepth?: number;
  /** The per-call info log line (call-log.ts). @default sampled */
  readonly callLog?: CallLogMode;
}

export interface ShutdownOptions {
  /**
   * How long the replica keeps serving after /ready turned 503, while
   * Kubernetes removes it from the Service's endpoints (that takes seconds).
   * @default 5000
   */
  readonly delayMs?: number;
  /**
   * How long work in flight may run on once new requests are refused; calls
   * still running then are cancelled upstream and answered with -32014.
   * @default 25000
   */
  readonly graceMs?: number;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly catalogue: CatalogueService;
  readonly metrics: GatewayMetrics;
  readonly activity: ActivityLog;
  /** Starts the registry and the upstreams; resolves once the registry is loaded. */
  start(): Promise<void>;
  /** Stops everything at once, the fastify app included (connections are destroyed). */
  close(): Promise<void>;
  /**
   * Stops without losing work: /ready turns 503, serving goes on for
   * `delayMs`, then new requests are refused (503) while work in flight
   * finishes within `graceMs`; what still runs is cancelled with an error
   * answer; notification streams end; then close(). Idempotent.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /** Where a shutdown is, and how much work is in flight. */
  readonly drain: { readonly phase: DrainPhase; readonly inFlight: number };
}
