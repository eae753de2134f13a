/**
 * Optional bearer API keys. Keys are compared as SHA-256 digests in constant
 * time, every stored key checked (no early exit), and never logged.
 *
 * File (YAML or JSON): a list, or `keys:` list, of
 *   { id, sha256 (hex) | key (plain), tools: [glob...] (default all), admin: bool }
 * Directory (a mounted Secret): every *.yaml|*.yml|*.json file is such a file;
 * any other file is one key: file name = id, content = plain key, all tools.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { globToRegExp } from "./catalogue/naming.ts";

export interface Principal {
  /** Key id, or "anonymous" when auth is off. Shown in the activity log. */
  readonly id: string;
  readonly admin: boolean;
  mayCall(tool: string): boolean;
}

interface StoredKey {
  readonly id: string;
  readonly digest: Buffer;
  readonly admin: boolean;
  readonly patterns: readonly RegExp[];
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
    admin: z.boolean().default(false),
  })
  .refine((k) => (k.sha256 === undefined) !== (k.key === undefined), "exactly one of sha256 and key");

const keyFile = z.union([z.array(keyEntry), z.object({ keys: z.array(keyEntry) }).transform((f) => f.keys)]);

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

export const ANONYMOUS: Principal = { id: "anonymous", admin: true, mayCall: () => true };

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

  static empty(): KeyStore {
    return new KeyStore([]);
  }

  /** Pure: key entries (already parsed YAML/JSON) → store; errors name the entry. */
  static fromEntries(raw: unknown, source = "keys"): KeyStore {
    const parsed = keyFile.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${source}: ${issue ? `${issue.path.join(".")}: ${issue.message}` : "invalid"}`);
    }
    return new KeyStore(
      parsed.data.map((k) => ({
        id: k.id,
        digest: k.sha256 ? Buffer.from(k.sha256, "hex") : digest(k.key!),
        admin: k.admin,
        patterns: k.tools.map(globToRegExp),
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
      if (/\.(ya?ml|json)$/.test(name)) stores.push(...KeyStore.fromEntries(parse(text), file).#keys);
      else stores.push(...KeyStore.fromEntries([{ id: name, key: text.trim() }], file).#keys);
    }
    return new KeyStore(stores);
  }

  /**
   * The principal of an Authorization header; undefined when the key is
   * missing or unknown. With no keys configured everyone is ANONYMOUS.
   */
  authenticate(authorization: string | undefined): Principal | undefined {
    if (!this.enabled) return ANONYMOUS;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match?.[1]) return undefined;
    const presented = digest(match[1]);
    let found: StoredKey | undefined;
    for (const k of this.#keys) if (timingSafeEqual(k.digest, presented) && !found) found = k;
    if (!found) return undefined;
    const key = found;
    return { id: key.id, admin: key.admin, mayCall: (tool) => key.patterns.some((p) => p.test(tool)) };
  }
}
