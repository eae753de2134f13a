/**
 * Optional bearer API keys. Keys are compared as SHA-256 digests in constant
 * time, every stored key checked (no early exit), and never logged.
 *
 * File (YAML or JSON): a list, or `keys:` list, of
 *   { id, sha256 (hex) | key (plain), tools: [glob...] (default all), admin: bool,
 *     resources: [URI glob...], prompts: [name glob...], forwardedUser: bool }
 * resources and prompts default to all when tools are unrestricted ("*" or
 * absent) and to none otherwise: a narrow key must not read what it cannot call.
 * forwardedUser marks the key whose requests may name a user in Open WebUI's
 * forwarded headers (forwarded.ts); on any other key those headers are ignored.
 * Ids are unique: sessions and caches are keyed by them.
 * Directory (a mounted Secret): every *.yaml|*.yml|*.json file is such a file;
 * any other file is one key: file name = id, content = plain key, all tools.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { ANONYMOUS, compileGrant, principalOf, type Grant, type Principal } from "./principal.ts";

interface StoredKey {
  readonly id: string;
  readonly digest: Buffer;
  readonly grant: Grant;
  readonly forwardedUser: boolean;
  /** The key itself when the file held it in plain (masked wherever it could leak). */
  readonly plain?: string;
}

/** A key that matched: who it is, and whether it may carry a forwarded user. */
export interface KeyMatch {
  readonly principal: Principal;
  readonly forwardedUser: boolean;
}

const keyEntry = z
  .object({
    id: z.string().min(1),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits")
      .optional(),
    key: z.string().min(8, "must hold at least 8 characters").optional(),
    tools: z.array(z.string().min(1)).default(["*"]),
    resources: z.array(z.string().min(1)).optional(),
    prompts: z.array(z.string().min(1)).optional(),
    admin: z.boolean().default(false),
    forwardedUser: z.boolean().default(false),
  })
  .refine((k) => (k.sha256 === undefined) !== (k.key === undefined), "exactly one of sha256 and key");

type KeyEntry = z.infer<typeof keyEntry>;

/** Where an issue sits, with the entry's id when it has one: "keys.2 (chat).key". */
function issuePath(raw: unknown, path: readonly PropertyKey[]): string {
  const parts = path.map(String);
  const at = parts[0] === "keys" ? 1 : 0;
  const list = parts[0] === "keys" ? (raw as { keys?: unknown }).keys : raw;
  const entry = Array.isArray(list) ? (list[Number(parts[at])] as { id?: unknown } | undefined) : undefined;
  if (parts[at] !== undefined && typeof entry?.id === "string") parts[at] = `${parts[at]} (${entry.id})`;
  return parts.join(".");
}

/** The list form and the `keys:` form parsed apart, so the entry's own error survives. */
function parseKeyFile(raw: unknown, source: string): KeyEntry[] {
  const isKeysForm = typeof raw === "object" && raw !== null && !Array.isArray(raw);
  const schema = isKeysForm ? z.object({ keys: z.array(keyEntry) }).strict() : z.array(keyEntry);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issuePath(raw, issue.path)}: ` : "";
    const message =
      isKeysForm || Array.isArray(raw) ? issue?.message : "expected a list of keys or keys: [...]";
    throw new Error(`${source}: ${where}${message ?? "invalid"}`);
  }
  const entries = Array.isArray(parsed.data) ? parsed.data : parsed.data.keys;
  const seen = new Set<string>();
  for (const k of entries) {
    if (seen.has(k.id)) throw new Error(`${source}: duplicate key id "${k.id}" (ids must be unique)`);
    seen.add(k.id);
  }
  return entries;
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

export class KeyStore {
  readonly #keys: readonly StoredKey[];

  constructor(keys: readonly StoredKey[]) {
    this.#keys = keys;
  }

  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The same keys with these ids marked to carry a forwarded user; an unknown id is an error. */
  withForwardedUser(ids: readonly string[]): KeyStore {
    const unknown = ids.filter((id) => !this.#keys.some((k) => k.id === id));
    if (unknown.length > 0) throw new Error(`no API key with id ${unknown.join(", ")}`);
    return new KeyStore(this.#keys.map((k) => (ids.includes(k.id) ? { ...k, forwardedUser: true } : k)));
  }

  /** The keys held in plain: secrets the gateway must never let out. */
  plainKeys(): string[] {
    return this.#keys.flatMap((k) => (k.plain === undefined ? [] : [k.plain]));
  }

  static empty(): KeyStore {
    return new KeyStore([]);
  }

  /** Pure: key entries (already parsed YAML/JSON) → store; errors name the entry. */
  static fromEntries(raw: unknown, source = "keys"): KeyStore {
    return new KeyStore(
      parseKeyFile(raw, source).map((k) => ({
        id: k.id,
        digest: k.sha256 ? Buffer.from(k.sha256, "hex") : digest(k.key!),
        grant: compileGrant(k),
        forwardedUser: k.forwardedUser,
        ...(k.key === undefined ? {} : { plain: k.key }),
      })),
    );
  }

  static async load(path: string): Promise<KeyStore> {
    const info = await stat(path);
    if (!info.isDirectory()) return KeyStore.fromEntries(parse(await readFile(path, "utf8")), path);
    const stores: StoredKey[] = [];
    for (const name of (await readdir(path)).sort()) {
      if (name.startsWith(".")) continue; // Secret mounts keep ..data symlinks
      const file = join(path, name);
      if (!(await stat(file)).isFile()) continue;
      const text = await readFile(file, "utf8");
      const found = /\.(ya?ml|json)$/.test(name)
        ? KeyStore.fromEntries(parse(text), file).#keys
        : KeyStore.fromEntries([{ id: name, key: text.trim() }], file).#keys;
      for (const k of found) {
        if (stores.some((s) => s.id === k.id))
          throw new Error(`${file}: duplicate key id "${k.id}" (ids must be unique across ${path})`);
        stores.push(k);
      }
    }
    return new KeyStore(stores);
  }

  /**
   * The principal of an Authorization header; undefined when the key is
   * missing or unknown. With no keys configured everyone is ANONYMOUS.
   */
  authenticate(authorization: string | undefined): Principal | undefined {
    if (!this.enabled) return ANONYMOUS;
    return this.match(authorization)?.principal;
  }

  /** The key an Authorization header presents, if it is one of ours (every key compared, in constant time). */
  match(authorization: string | undefined): KeyMatch | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match?.[1]) return undefined;
    const presented = digest(match[1]);
    let found: StoredKey | undefined;
    for (const k of this.#keys) if (timingSafeEqual(k.digest, presented) && !found) found = k;
    if (!found) return undefined;
    return { principal: principalOf(found.id, [found.grant]), forwardedUser: found.forwardedUser };
  }
}
