/**
 * MCP 2026-07-28's `subscriptions/listen`, as the gateway and the bridge
 * both need to read it before the SDK's listen router serves it: the URIs a
 * listen asks for must be subscribed upstream first.
 */
/** The resource URIs a `subscriptions/listen` request body asks to hear about. */
export function listenedUris(body: unknown): readonly string[] {
  const message = body as {
    method?: unknown;
    params?: { notifications?: { resourceSubscriptions?: unknown } };
  };
  if (message?.method !== "subscriptions/listen") return [];
  const uris = message.params?.notifications?.resourceSubscriptions;
  return Array.isArray(uris) ? uris.filter((u): u is string => typeof u === "string") : [];
}
