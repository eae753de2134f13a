/** Pure: what the admin API and the console show about one shard. */
import type { z } from "zod";
import { DEFAULT_ACTIVITY_RECORDING, shardKind } from "../../api/index.ts";
import type { CatalogueService } from "../catalogue/service.ts";
import type { ShardRecord } from "../registry/types.ts";
import type { shardView } from "./admin-schemas.ts";

export type ShardView = z.infer<typeof shardView>;

export function describeShard(record: ShardRecord, catalogue: CatalogueService): ShardView {
  const live = catalogue.shardStates().find((s) => s.key === record.key);
  const cat = catalogue.catalogue;
  const recording = record.spec.activity ?? DEFAULT_ACTIVITY_RECORDING;
  return {
    namespace: record.namespace,
    name: record.name,
    kind: shardKind(record.spec),
    description: record.spec.description,
    enabled: record.spec.enabled,
    routable: record.target !== undefined,
    reason: record.reason,
    url: record.target?.url,
    transport: live?.upstream.transportUsed ?? record.spec.transport,
    state: live?.upstream.state ?? "inactive",
    toolCount: cat.exposedCount.get(record.key) ?? 0,
    lastError: live?.upstream.lastError ?? live?.listError,
    lastSeen: live?.upstream.lastSeen?.toISOString(),
    server: live?.upstream.serverInfo,
    conditions: (record.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
    })),
    notes: [...(cat.notes.get(record.key) ?? [])],
    recording: {
      recordArguments: recording.recordArguments,
      recordResults: recording.recordResults,
      audit: [...(recording.audit ?? [])],
    },
  };
}

export function describeShards(records: Iterable<ShardRecord>, catalogue: CatalogueService): ShardView[] {
  return [...records].sort((a, b) => (a.key < b.key ? -1 : 1)).map((r) => describeShard(r, catalogue));
}
