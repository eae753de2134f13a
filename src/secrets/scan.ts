/**
 * Optional scanning of arguments and results for well-known secret formats
 * (cloud keys, tokens, private keys), per shard (`spec.policy.secretScan`):
 * `redact` masks what is found, `block` fails the call. The rules are
 * secretlint's recommended preset, a maintained rule set, rather than
 * patterns of our own. Here, not in the gateway, because shards (Watchman's
 * log lines) apply the same rules before anything leaves them. A scan costs about a millisecond per kilobyte-sized
 * value, so it is off unless a shard asks for it.
 */
import { lintSource } from "@secretlint/core";
import { creator as recommended } from "@secretlint/secretlint-rule-preset-recommend";
import { literalMatcher, mapStrings } from "./literals.ts";

/** What replaces a secret wherever shardgate removes one. */
export const SECRET_MASK = "[REDACTED]";

export type SecretScanMode = "off" | "redact" | "block";

export interface ScanFinding {
  /** secretlint's rule, e.g. "@secretlint/secretlint-rule-github". */
  readonly rules: readonly string[];
  /** The value with every finding masked (for `redact`). */
  readonly masked: unknown;
}

const config = { rules: [{ id: "@secretlint/secretlint-rule-preset-recommend", rule: recommended }] };

/** The found text as it was in the value: the scan ran over its JSON form. */
function unescape(json: string): string {
  try {
    return JSON.parse(`"${json}"`) as string;
  } catch {
    return json;
  }
}

/** What in `value` looks like a secret; undefined when nothing does. */
export async function scanForSecrets(value: unknown): Promise<ScanFinding | undefined> {
  const content = JSON.stringify(value ?? null);
  const { messages } = await lintSource({
    source: { filePath: "value.json", content, ext: ".json", contentType: "text" },
    options: { config },
  });
  if (messages.length === 0) return undefined;
  const found = messages.map((m) => unescape(content.slice(m.range[0], m.range[1])));
  const matcher = literalMatcher(found, 1);
  return {
    rules: [...new Set(messages.map((m) => m.ruleId))],
    masked: mapStrings(value, (s) => matcher.replace(s, SECRET_MASK)),
  };
}
