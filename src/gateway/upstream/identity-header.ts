/**
 * The caller's identity travels to a shard in the request's _meta (so every
 * transport has it) and, on the HTTP transports, also as a header: a shard
 * (or a proxy in front of it) can check it without reading the body.
 */
import { CALLER_IDENTITY_HEADER, CALLER_IDENTITY_META } from "../../api/index.ts";

/** The header to add for a message whose params carry an identity; empty when none. */
export function identityHeader(params: unknown): Record<string, string> {
  const meta = (params as { _meta?: Record<string, unknown> } | undefined)?._meta;
  const identity = meta?.[CALLER_IDENTITY_META];
  return typeof identity === "string" ? { [CALLER_IDENTITY_HEADER.toLowerCase()]: identity } : {};
}
