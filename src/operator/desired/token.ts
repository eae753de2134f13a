import { randomBytes } from "node:crypto";
import type { McpShard } from "../../api/index.ts";
import type { KubeObject } from "../../kube/index.ts";
import { childMetadata } from "./common.ts";

/**
 * The Secret of spec.auth.generate, without its value: created once when
 * missing (randomToken() fills it in then) and never rewritten, so the token
 * stays what the running pods and the gateway already hold. Owned by the
 * shard, so it goes when the shard goes.
 */
export function desiredTokenSecret(shard: McpShard): KubeObject | undefined {
  const auth = shard.spec.auth;
  if (!auth?.generate || shard.spec.url) return undefined;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: childMetadata(shard, auth.secretKeyRef.name),
    type: "Opaque",
  };
}

/** 256 random bits, base64url: a bearer token that needs no quoting anywhere. */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}
