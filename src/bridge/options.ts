/** The bridge's options, status and error codes (its public types). */
import type { InitializeResult } from "@modelcontextprotocol/sdk/types.js";
import { ERRORS } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import type { McpMetrics } from "../shard-kit/metrics.ts";
import type { BackoffOptions } from "./backoff.ts";

/** JSON-RPC error codes the bridge itself produces, from the shared table (src/errors). */
export const BridgeErrorCode = {
  /** The child exited (or was not running) before it answered. */
  UpstreamGone: ERRORS.serverExited.code,
  /** The child did not become ready within `readyTimeoutMs`. */
  UpstreamNotReady: ERRORS.serverNotReady.code,
  /**
   * A server-to-client request found no client to answer it (none with a
   * request in flight and the capability), or that client went away.
   */
  NoClient: ERRORS.noClient.code,
  /** The child's answer was longer than `maxLineBytes`. */
  AnswerTooLarge: ERRORS.answerTooLarge.code,
  /** The child did not answer within `requestTimeoutMs` (the SDK's request-timeout code). */
  RequestTimeout: ERRORS.timeout.code,
} as const;

/** @default 5 min: above the gateway's default call timeout (60 s), which then decides first. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;

export interface StdioBridgeOptions {
  readonly command: string;
  /** @default [] */
  readonly args?: readonly string[];
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default process.cwd() */
  readonly cwd?: string;
  readonly logger: Logger;
  readonly metrics: McpMetrics;
  /** Restart backoff. @default { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 } */
  readonly backoff?: Partial<BackoffOptions>;
  /** How long a request waits for a (re)starting child before failing. @default 10_000 */
  readonly readyTimeoutMs?: number;
  /** Longest message (stdout line) taken from the child. @default DEFAULT_MAX_LINE_BYTES */
  readonly maxLineBytes?: number;
  /** How long a request waits for the child's answer. @default DEFAULT_REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
}

export interface BridgeStatus {
  readonly ready: boolean;
  readonly pid: number | undefined;
  readonly restarts: number;
  readonly lastExit: string | undefined;
  readonly serverInfo: InitializeResult["serverInfo"] | undefined;
}
