/**
 * The exact secret values the gateway holds (plain API keys, the header
 * values of every shard's spec.auth, so the Secrets it reads), by source, and
 * their removal from anything that leaves the gateway: tool results, errors,
 * the activity log and log lines. Values are known exactly, so matching is
 * exact: no false positives, and nothing a secret-format heuristic would miss.
 */
import { literalMatcher, mapStrings, SECRET_MASK, type LiteralMatcher } from "../../secrets/index.ts";

export { SECRET_MASK };
/** Shorter values are not secrets worth the name, and masking them would mangle ordinary text. */
const MIN_SECRET_LENGTH = 8;

export class SecretRedactor {
  readonly #bySource = new Map<string, readonly string[]>();
  #matcher: LiteralMatcher | undefined;

  /** Replaces the values known from `source` (a key file, one shard's auth). */
  set(source: string, values: Iterable<string>): void {
    const list = [...values].filter((v) => v.length >= MIN_SECRET_LENGTH);
    const before = this.#bySource.get(source);
    if (before && before.length === list.length && before.every((v, i) => v === list[i])) return;
    if (list.length === 0) this.#bySource.delete(source);
    else this.#bySource.set(source, list);
    this.#matcher = undefined;
  }

  get size(): number {
    let n = 0;
    for (const values of this.#bySource.values()) n += values.length;
    return n;
  }

  #current(): LiteralMatcher {
    this.#matcher ??= literalMatcher([...this.#bySource.values()].flat(), MIN_SECRET_LENGTH);
    return this.#matcher;
  }

  /** True when `text` holds a known secret. */
  holds(text: string): boolean {
    return this.#current().test(text);
  }

  redact(text: string): string {
    return this.#current().replace(text, SECRET_MASK);
  }

  /** `value` with every known secret masked in every string; the same object when none was found. */
  redactDeep<T>(value: T): T {
    if (this.#bySource.size === 0) return value;
    const matcher = this.#current();
    return mapStrings(value, (s) => matcher.replace(s, SECRET_MASK));
  }
}

/**
 * The secret parts of auth headers: the whole value, and the credential after
 * a scheme ("Bearer abc" → "abc"), since a shard may echo either.
 */
export function headerSecrets(headers: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const value of Object.values(headers)) {
    out.push(value);
    const credential = /^\S+\s+(\S.*)$/.exec(value)?.[1];
    if (credential) out.push(credential);
  }
  return out;
}
