/**
 * When and how a shard is verified over MCP: the latest result for what the
 * shard says now (URL, transport, auth, generation), a fresh one requested
 * from the pool when due, with spec.auth's header read from its Secret.
 */
import type { McpShard } from "../../api/index.ts";
import { objectKey, RESOURCES, type KubeClient, type KubeObject } from "../../kube/index.ts";
import { messageOf } from "./errors.ts";
import { hashOf } from "../compare.ts";
import { verifyShard, type VerifyRequest, type VerifyResult } from "../verify.ts";
import { VerifyPool } from "../verify-pool.ts";

/** First re-verification after a failed one (then doubling up to the interval). */
const FAILED_RETRY_MS = 2_000;

export interface ShardVerifierOptions {
  readonly client: KubeClient;
  /** Re-verify a healthy shard this often. */
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Verifications running at once. @default 16 */
  readonly concurrency?: number;
  /** @default verifyShard */
  readonly verify?: (request: VerifyRequest) => Promise<VerifyResult>;
  /** A verification of `key` finished. */
  readonly onDone: (key: string) => void;
}

export class ShardVerifier {
  readonly #options: ShardVerifierOptions;
  readonly #pool: VerifyPool;

  constructor(options: ShardVerifierOptions) {
    this.#options = options;
    this.#pool = new VerifyPool({ concurrency: options.concurrency, onDone: options.onDone });
  }

  /** Verifications queued or running. */
  get inFlight(): number {
    return this.#pool.running + this.#pool.queued;
  }

  forget(key: string): void {
    this.#pool.forget(key);
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  /**
   * The latest verification of what the shard says now, asking the pool for
   * a fresh one when it is due; undefined while the first one runs. A due
   * re-verification keeps serving the previous result until the new one is in.
   */
  latest(shard: McpShard, url: string): { result: VerifyResult; dueInMs: number } | undefined {
    const key = objectKey(shard);
    const fingerprint = hashOf([url, shard.spec.transport, shard.spec.auth, shard.metadata.generation]);
    const memo = this.#pool.memo(key);
    const current = memo?.fingerprint === fingerprint ? memo : undefined;
    const intervalMs = current ? this.#dueAfterMs(current.failures) : this.#options.intervalMs;
    const age = current ? Date.now() - current.at : Infinity;
    if (age >= intervalMs * 0.9) this.#pool.request(key, fingerprint, () => this.#verify(shard, url));
    if (!current) return undefined;
    const jitter = 0.9 + Math.random() * 0.2;
    return { result: current.result, dueInMs: Math.max(1000, Math.round(intervalMs * jitter - age)) };
  }

  /**
   * A healthy shard is re-verified every intervalMs; a failing one sooner, 2 s
   * after its first failure and doubling up to intervalMs. A new pod's server
   * is often not listening yet at the first try, and waiting a whole interval
   * (60 s by default) for the retry kept such shards not Ready for a minute.
   */
  #dueAfterMs(failures: number): number {
    const { intervalMs } = this.#options;
    if (failures === 0) return intervalMs;
    return Math.min(intervalMs, FAILED_RETRY_MS * 2 ** Math.min(failures - 1, 16));
  }

  async #verify(shard: McpShard, url: string): Promise<VerifyResult> {
    const auth = shard.spec.auth;
    let headers: Record<string, string> | undefined;
    if (auth) {
      try {
        const value = await this.#secretValue(shard, auth.secretKeyRef);
        headers = { [auth.header]: (auth.valuePrefix ?? "") + value };
      } catch (error) {
        return {
          ok: false,
          reason: "SecretUnreadable",
          message: `cannot read Secret ${auth.secretKeyRef.name} for spec.auth: ${messageOf(error)}`,
        };
      }
    }
    const verify = this.#options.verify ?? verifyShard;
    return verify({ url, transport: shard.spec.transport, headers, timeoutMs: this.#options.timeoutMs });
  }

  async #secretValue(shard: McpShard, ref: { name: string; key: string }): Promise<string> {
    const secret = await this.#options.client.get<KubeObject & { data?: Record<string, string> }>(
      RESOURCES.secret,
      shard.metadata.namespace,
      ref.name,
    );
    const value = secret.data?.[ref.key];
    if (value === undefined) throw new Error(`key ${ref.key} not found`);
    return Buffer.from(value, "base64").toString("utf8");
  }
}
