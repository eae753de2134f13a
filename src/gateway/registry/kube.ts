/**
 * Cluster registry: McpShards watched through the shared informer (list, then
 * watch; 410 and disconnects handled there), in the configured namespaces or
 * all. Routability follows the operator's truth (Ready, status.url) unless
 * requireReady is off. The gateway writes only status.gateway, by server-side
 * apply with its own field manager, and only when the content changed.
 */
import { API_VERSION, KIND, mcpShardSpec, mcpShardStatus, type McpShard } from "../../api/index.ts";
import { Informer, RESOURCES, type KubeClient, type KubeObject } from "../../kube/index.ts";
import type { Logger } from "../../log.ts";
import { RecordSnapshot } from "./snapshot.ts";
import { toShardRecord } from "./record.ts";

/** The pod-template annotation `kubectl rollout restart` writes. */
export const RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";
import type { GatewayStatusReport, Registry, ShardRecord, ShardTarget } from "./types.ts";

export const GATEWAY_FIELD_MANAGER = "shardgate-gateway";

export interface KubeRegistryOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  /** @default all namespaces */
  readonly namespaces?: readonly string[];
  /** @default true */
  readonly requireReady?: boolean;
  /** How long a Secret value read for spec.auth is reused. @default 60000 */
  readonly secretTtlMs?: number;
}

type ShardObject = KubeObject & Partial<Pick<McpShard, "spec" | "status">>;

/** Pure: an McpShard object as the apiserver returns it → a record (invalid ones are not routable). */
export function recordFromObject(obj: ShardObject, requireReady: boolean): ShardRecord | undefined {
  const namespace = obj.metadata?.namespace;
  const name = obj.metadata?.name;
  if (!namespace || !name) return undefined;
  const spec = mcpShardSpec.safeParse(obj.spec ?? {});
  const status = mcpShardStatus.safeParse(obj.status ?? {});
  if (!spec.success) {
    const issue = spec.error.issues[0];
    return {
      key: `${namespace}/${name}`,
      namespace,
      name,
      spec: mcpShardSpec.parse({ enabled: false, url: "http://invalid.invalid" }),
      reason: `invalid spec: ${issue ? `spec.${issue.path.join(".")}: ${issue.message}` : "unknown"}`,
    };
  }
  return toShardRecord(
    {
      namespace,
      name,
      spec: spec.data,
      status: status.success ? status.data : undefined,
      generation: obj.metadata?.generation,
    },
    { requireReady },
  );
}

export class KubeRegistry extends RecordSnapshot implements Registry {
  readonly mode = "kube" as const;
  #opts: KubeRegistryOptions;
  #informers: Informer<ShardObject>[] = [];
  #fingerprint = "";
  #secrets = new Map<string, { value: string; at: number }>();
  lastError: string | undefined;

  constructor(options: KubeRegistryOptions) {
    super();
    this.#opts = options;
  }

  async start(): Promise<void> {
    const namespaces = this.#opts.namespaces?.length ? this.#opts.namespaces : [undefined];
    this.#informers = namespaces.map(
      (namespace) =>
        new Informer<ShardObject>({ client: this.#opts.client, type: RESOURCES.mcpShard, namespace }),
    );
    for (const informer of this.#informers) {
      informer.on((event) => {
        if (event.type === "error") {
          this.lastError = `${event.phase}: ${event.error.message}`;
          this.#opts.logger.warn({ error: this.lastError }, "McpShard watch failed; retrying");
          return;
        }
        if (event.type === "synced") this.lastError = undefined;
        if (event.type === "resync" || event.type === "restart") return;
        this.#recompute();
      });
      informer.start();
    }
    await Promise.all(this.#informers.map((i) => i.waitForSync()));
    this.#recompute();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
  }

  #recompute(): void {
    const requireReady = this.#opts.requireReady ?? true;
    const next = new Map<string, ShardRecord>();
    for (const informer of this.#informers) {
      for (const obj of informer.list()) {
        const record = recordFromObject(obj, requireReady);
        if (record) next.set(record.key, record);
      }
    }
    const sorted = [...next.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    const fingerprint = JSON.stringify(
      sorted.map((r) => [r.key, r.target, r.reason, r.spec.enabled, r.status?.gateway]),
    );
    this.records = new Map(sorted.map((r) => [r.key, r]));
    if (fingerprint === this.#fingerprint) return;
    this.#fingerprint = fingerprint;
    this.changed();
  }

  async resolveAuth(target: ShardTarget): Promise<Record<string, string>> {
    const auth = target.auth;
    if (!auth) return {};
    const { name, key } = auth.secretKeyRef;
    const cacheKey = `${target.namespace}/${name}/${key}`;
    const cached = this.#secrets.get(cacheKey);
    let value =
      cached && Date.now() - cached.at < (this.#opts.secretTtlMs ?? 60_000) ? cached.value : undefined;
    if (value === undefined) {
      let secret: KubeObject & { data?: Record<string, string> };
      try {
        secret = await this.#opts.client.get(RESOURCES.secret, target.namespace, name);
      } catch (cause) {
        throw new Error(`cannot read Secret ${target.namespace}/${name} for shard ${target.key}`, { cause });
      }
      const encoded = secret.data?.[key];
      if (encoded === undefined)
        throw new Error(`Secret ${target.namespace}/${name} has no key ${key} (shard ${target.key})`);
      value = Buffer.from(encoded, "base64").toString("utf8").trim();
      this.#secrets.set(cacheKey, { value, at: Date.now() });
    }
    return { [auth.header]: `${auth.valuePrefix ?? ""}${value}` };
  }

  async setEnabled(namespace: string, name: string, enabled: boolean): Promise<void> {
    await this.#opts.client.mergePatch(RESOURCES.mcpShard, namespace, name, { spec: { enabled } });
  }

  async restart(namespace: string, name: string): Promise<void> {
    await this.#opts.client.mergePatch(RESOURCES.deployment, namespace, name, {
      spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date().toISOString() } } } },
    });
  }

  async reportGatewayStatus(key: string, report: GatewayStatusReport): Promise<void> {
    const record = this.records.get(key);
    if (!record) return;
    const current = record.status?.gateway;
    if (
      current?.exposedTools === report.exposedTools &&
      JSON.stringify(current.notes ?? []) === JSON.stringify(report.notes)
    ) {
      return;
    }
    await this.#opts.client.apply(
      RESOURCES.mcpShard,
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: record.name, namespace: record.namespace },
        status: {
          gateway: {
            exposedTools: report.exposedTools,
            notes: [...report.notes],
            updatedTime: new Date().toISOString(),
          },
        },
      },
      { fieldManager: GATEWAY_FIELD_MANAGER, subresource: "status", force: true },
    );
  }
}
