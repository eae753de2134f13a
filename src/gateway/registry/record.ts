/** Pure: from a declared McpShard to what the gateway routes. */
import {
  DEFAULT_ACTIVITY_RECORDING,
  DEFAULT_CALL_POLICY,
  type McpShardSpec,
  type McpShardStatus,
} from "../../api/index.ts";
import { shardPrefix } from "../catalogue/naming.ts";
import type { ShardRecord } from "./types.ts";

export interface RecordInput {
  readonly namespace: string;
  readonly name: string;
  readonly spec: McpShardSpec;
  readonly status?: McpShardStatus;
  readonly generation?: number;
}

export interface RecordOptions {
  /**
   * Route only shards whose Ready condition is True, at status.url (the
   * operator's truth). When false, external shards are routed at spec.url and
   * managed ones at status.url when present, whatever their conditions.
   * @default true
   */
  readonly requireReady?: boolean;
}

export function shardKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function toShardRecord(input: RecordInput, options: RecordOptions = {}): ShardRecord {
  const requireReady = options.requireReady ?? true;
  const key = shardKey(input.namespace, input.name);
  const base = {
    key,
    namespace: input.namespace,
    name: input.name,
    spec: input.spec,
    status: input.status,
    generation: input.generation,
  };
  if (!input.spec.enabled) return { ...base, reason: "disabled (spec.enabled is false)" };
  let url: string | undefined;
  if (requireReady) {
    const ready = input.status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.status !== "True") {
      return {
        ...base,
        reason: `not Ready${ready ? `: ${ready.reason}: ${ready.message}` : " (no Ready condition yet)"}`,
      };
    }
    url = input.status?.url;
  } else {
    url = input.spec.url ?? input.status?.url;
  }
  if (!url) return { ...base, reason: "no URL (status.url not set)" };
  const spec = input.spec;
  return {
    ...base,
    target: {
      key,
      namespace: input.namespace,
      name: input.name,
      url,
      transport: spec.transport,
      prefix: shardPrefix(input.name, spec.tools?.prefix),
      allow: spec.tools?.allow,
      deny: spec.tools?.deny,
      policy: spec.policy ?? DEFAULT_CALL_POLICY,
      auth: spec.auth,
      activity: spec.activity ?? DEFAULT_ACTIVITY_RECORDING,
      ...(spec.callerIdentity?.forward ? { callerIdentity: true } : {}),
    },
  };
}

/** Whether two records route the same way (a status-only change is no reason to reconnect). */
export function sameTarget(a: ShardRecord | undefined, b: ShardRecord | undefined): boolean {
  return JSON.stringify(a?.target) === JSON.stringify(b?.target);
}
