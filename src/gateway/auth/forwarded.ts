/**
 * Open WebUI's forwarded user, for homelabs without an identity provider.
 * Open WebUI can send the chat user with every MCP request, through its own
 * X-OpenWebUI-User-* headers (ENABLE_FORWARD_USER_INFO_HEADERS) or through
 * header templates on the connection ({{USER_ID}}, {{USER_EMAIL}},
 * {{USER_NAME}}, {{USER_GROUPS}}...) mapped onto the same header names.
 *
 * Anyone can write a header, so they are believed only on a request that
 * also presented an API key marked `forwardedUser: true` (the key vouches
 * for them); the user never gets more than that key allows.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { CallerIdentity } from "./principal.ts";

export const FORWARDED_HEADERS = {
  id: "x-openwebui-user-id",
  email: "x-openwebui-user-email",
  name: "x-openwebui-user-name",
  groups: "x-openwebui-user-groups",
} as const;

const MAX_VALUE = 512;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  // A template Open WebUI could not fill arrives as the template itself.
  if (!text || text.length > MAX_VALUE || /^\{\{.*\}\}$/.test(text)) return undefined;
  return text;
}

/**
 * Pure: the forwarded user of a request's headers, vouched for by `keyId`;
 * undefined when no user id (or email) is there. Groups are comma separated
 * (Open WebUI's {{USER_GROUPS}} joins group names with commas).
 */
export function forwardedUser(headers: IncomingHttpHeaders, keyId: string): CallerIdentity | undefined {
  const email = header(headers, FORWARDED_HEADERS.email);
  const subject = header(headers, FORWARDED_HEADERS.id) ?? email;
  if (!subject) return undefined;
  const name = header(headers, FORWARDED_HEADERS.name);
  const groups = (header(headers, FORWARDED_HEADERS.groups) ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);
  return {
    subject,
    ...(email ? { email } : {}),
    ...(name ? { name } : {}),
    groups: [...new Set(groups)],
    source: "forwarded",
    vouchedBy: keyId,
  };
}
