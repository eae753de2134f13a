/**
 * Gateway tool names: a pure function of the catalogue, so every replica and
 * every restart agrees on them. Inputs are sorted before anything is decided;
 * nothing depends on the order shards answered in.
 */
import { createHash } from "node:crypto";
import { TOOL_NAME_PATTERN } from "../../api/index.ts";

const MAX_NAME = 64;
const HASH_LEN = 8;

export interface NamingInput {
  /** Shard key, "namespace/name". */
  readonly shard: string;
  /** Prefix of the shard's tools (already valid, see shardPrefix). */
  readonly prefix: string;
  /** Tool names at the shard. */
  readonly tools: readonly string[];
}

export interface NamedTool {
  readonly shard: string;
  readonly tool: string;
  readonly exposedAs: string;
}

export interface NamingResult {
  readonly tools: readonly NamedTool[];
  /** Per shard: conflicts and shortened names, for /api/tools and status.gateway. */
  readonly notes: ReadonlyMap<string, readonly string[]>;
}

export interface NamingOptions {
  /**
   * Expose tools without the shard prefix; names two shards share are
   * prefixed for every shard that has them.
   * @default false
   */
  readonly bareNames?: boolean;
}

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, HASH_LEN);
}

/** Replaces characters clients refuse (OpenAI-style names) with "_". */
export function sanitizeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_-]/g, "_");
}

/** The prefix a shard gets when spec.tools.prefix is unset: its name, sanitised. */
export function shardPrefix(name: string, explicit?: string): string {
  if (explicit) return explicit;
  const clean = sanitizeName(name).slice(0, 32);
  return clean.length > 0 ? clean : "shard";
}

/**
 * A valid name for `candidate`: unchanged when it already is one, otherwise
 * sanitised, and when too long truncated with a hash of the shard and the
 * original tool name so two long names never shorten to the same result.
 */
function fit(candidate: string, identity: string): { name: string; changed: boolean } {
  if (TOOL_NAME_PATTERN.test(candidate)) return { name: candidate, changed: false };
  const clean = sanitizeName(candidate);
  if (clean.length > 0 && clean.length <= MAX_NAME) return { name: clean, changed: true };
  const head = clean.slice(0, MAX_NAME - HASH_LEN - 1);
  return { name: `${head}_${shortHash(identity)}`, changed: true };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function nameTools(inputs: readonly NamingInput[], options: NamingOptions = {}): NamingResult {
  const shards = [...inputs].sort((a, b) => compare(a.shard, b.shard));
  const notes = new Map<string, string[]>();
  const note = (shard: string, text: string) => {
    const list = notes.get(shard) ?? [];
    list.push(text);
    notes.set(shard, list);
  };

  // Which bare names more than one shard offers: those are prefixed everywhere.
  const bareOwners = new Map<string, Set<string>>();
  if (options.bareNames) {
    for (const s of shards) {
      for (const tool of new Set(s.tools)) {
        const owners = bareOwners.get(tool) ?? new Set<string>();
        owners.add(s.shard);
        bareOwners.set(tool, owners);
      }
    }
  }

  const wanted: { shard: string; tool: string; name: string }[] = [];
  for (const s of shards) {
    for (const tool of [...new Set(s.tools)].sort(compare)) {
      const shared = (bareOwners.get(tool)?.size ?? 0) > 1;
      const bare = options.bareNames === true && !shared;
      if (options.bareNames && shared) {
        const others = [...(bareOwners.get(tool) ?? [])].filter((o) => o !== s.shard).sort(compare);
        note(s.shard, `tool "${tool}" is also offered by ${others.join(", ")}: exposed with prefix`);
      }
      const candidate = bare ? tool : `${s.prefix}_${tool}`;
      const { name, changed } = fit(candidate, `${s.shard}\u0000${tool}`);
      if (changed)
        note(s.shard, `tool "${tool}" exposed as "${name}" (name not valid or longer than ${MAX_NAME})`);
      wanted.push({ shard: s.shard, tool, name });
    }
  }

  // Two shards can still meet on one name (same explicit prefix, or a bare
  // name equal to another's prefixed one): the first shard in sorted order
  // keeps it, the others get a hashed name and a note. Never silent.
  const taken = new Set<string>();
  const firstOwner = new Map<string, string>();
  const tools: NamedTool[] = [];
  for (const w of wanted) {
    let name = w.name;
    if (taken.has(name)) {
      const owner = firstOwner.get(name) ?? "?";
      const head = name.slice(0, MAX_NAME - HASH_LEN - 1);
      name = `${head}_${shortHash(`${w.shard}\u0000${w.tool}`)}`;
      note(w.shard, `tool "${w.tool}" conflicts with "${w.name}" of ${owner}: exposed as "${name}"`);
    }
    taken.add(name);
    if (!firstOwner.has(name)) firstOwner.set(name, w.shard);
    tools.push({ shard: w.shard, tool: w.tool, exposedAs: name });
  }
  return { tools, notes };
}

/** Glob with * and ? (the spec.tools.allow/deny and API key patterns). */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

export function matchesAny(name: string, globs: readonly string[]): boolean {
  return globs.some((g) => globToRegExp(g).test(name));
}

/** spec.tools.allow then deny, on the shard's own tool names. */
export function isExposed(tool: string, allow?: readonly string[], deny?: readonly string[]): boolean {
  if (allow && allow.length > 0 && !matchesAny(tool, allow)) return false;
  if (deny && deny.length > 0 && matchesAny(tool, deny)) return false;
  return true;
}
