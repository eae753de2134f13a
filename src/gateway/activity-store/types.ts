/**
 * The activity log's storage: one interface, two backends (embedded SQLite by
 * default, PostgreSQL when several replicas must share one history).
 */

export type ActivityOutcome = "ok" | "tool_error" | "error";

/**
 * What spec.policy.secretScan decided for a call: `off` (not scanned),
 * `clean` (scanned, nothing found), `redacted` (found and masked), `blocked`
 * (found, the call refused). Over arguments and result together: the
 * strongest of the two.
 */
export type SecretScanDecision = "off" | "clean" | "redacted" | "blocked";
export const SECRET_SCAN_DECISIONS = [
  "off",
  "clean",
  "redacted",
  "blocked",
] as const satisfies readonly SecretScanDecision[];

/** Who the call was for, when the gateway knew a person behind the credential. */
export interface ActivityUser {
  /** The token's `sub`, or Open WebUI's forwarded user id (its email when no id came). */
  readonly id: string;
  readonly email?: string;
  /** Groups as the gateway saw them at the call (the token's groups claim, or Open WebUI's). */
  readonly groups: readonly string[];
  /** "oauth": a validated access token; "forwarded": Open WebUI's headers on a key marked to carry them. */
  readonly source: "oauth" | "forwarded";
}

/**
 * One tool call as it is stored. Argument values and results are present only
 * when the shard's spec.activity allows them, and arrive here already
 * redacted: the store keeps what it is given.
 */
export interface ActivityEntry {
  /** Unique across replicas (a UUIDv7: time, then random bits), so a shared store never shows a call twice. */
  readonly id: string;
  /** RFC 3339 with milliseconds, UTC. */
  readonly time: string;
  /**
   * The API key that made the call (for a forwarded user, the key that carried
   * it); absent for an OAuth access token. Entries stored before `user` was
   * recorded hold the caller's whole id here ("user:<sub>", "<key>/<user>").
   */
  readonly key?: string;
  /** The person behind the call; absent for a plain API key and on entries stored before it was recorded. */
  readonly user?: ActivityUser;
  readonly tool: string;
  /** "namespace/name". */
  readonly shard: string;
  readonly durationMs: number;
  readonly outcome: ActivityOutcome;
  readonly error?: string;
  readonly argumentNames: readonly string[];
  readonly arguments?: unknown;
  readonly result?: unknown;
  /** Matched an audit pattern of the shard: never removed by size retention. */
  readonly audit?: boolean;
  /** The gateway replica (host name) that served the call. */
  readonly replica?: string;
  /** The secret scan's decision; absent on entries stored before it was recorded. */
  readonly secretScan?: SecretScanDecision;
}

export interface ActivityQuery {
  readonly tool?: string;
  readonly shard?: string;
  readonly outcome?: ActivityOutcome;
  readonly key?: string;
  /** A user's id or email. */
  readonly user?: string;
  /** Calls whose user was in this group. */
  readonly group?: string;
  readonly secretScan?: SecretScanDecision;
  /** RFC 3339; entries at or after. */
  readonly since?: string;
  /** RFC 3339; entries before. */
  readonly until?: string;
  /** Only these tools (a non-admin key's view); undefined means any. */
  readonly tools?: readonly string[];
  /** @default 100 */
  readonly limit?: number;
}

export interface Retention {
  /** Entries older than this are removed. @default 30 days */
  readonly maxAgeMs: number;
  /** At most this many entries besides audit entries; the oldest go first. @default 100000 */
  readonly maxEntries: number;
}

export const DEFAULT_RETENTION: Retention = { maxAgeMs: 30 * 24 * 3600 * 1000, maxEntries: 100_000 };

export interface ActivityStore {
  readonly kind: "sqlite" | "postgres";
  /** Creates the schema when missing; safe to run from every replica at once. */
  init(): Promise<void>;
  /** Stores entries in one transaction. */
  insert(entries: readonly ActivityEntry[]): Promise<void>;
  /** Newest first. */
  query(q: ActivityQuery): Promise<ActivityEntry[]>;
  get(id: string): Promise<ActivityEntry | undefined>;
  /** Applies retention; returns how many entries went. */
  prune(retention: Retention, now?: number): Promise<number>;
  close(): Promise<void>;
}

/** Results and arguments larger than this (as JSON) are stored cut, with a marker. */
export const MAX_STORED_JSON = 64 * 1024;

/** JSON text of a value for storage, cut to MAX_STORED_JSON characters. */
export function storedJson(value: unknown): string | null {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  if (text.length <= MAX_STORED_JSON) return text;
  return JSON.stringify({ truncated: true, bytes: text.length, head: text.slice(0, MAX_STORED_JSON) });
}

/**
 * The table as the first release created it; ADDED_COLUMNS extend it. Both
 * stores create this, then add the missing added columns, so a new database
 * and an upgraded one end up alike.
 */
export const BASE_COLUMNS = [
  "id",
  "time",
  "key",
  "tool",
  "shard",
  "duration_ms",
  "outcome",
  "error",
  "argument_names",
  "arguments",
  "result",
  "audit",
  "replica",
] as const;

/**
 * Columns added after the first release, in order (nullable: old rows have
 * none). Never reorder or remove. `user_groups` is a JSON array of strings.
 * (`user` and `groups` are SQL keywords, hence the prefix.)
 */
export const ADDED_COLUMNS = [
  { name: "secret_scan", type: "TEXT" },
  { name: "user_id", type: "TEXT" },
  { name: "user_email", type: "TEXT" },
  { name: "user_groups", type: "TEXT" },
  { name: "user_source", type: "TEXT" },
] as const;

/** Indexes over added columns: created after the migration, since an old table gets the columns only then. */
export const ADDED_INDEXES = [{ name: "user_time", columns: "user_id, time" }] as const;

export const COLUMNS = [...BASE_COLUMNS, ...ADDED_COLUMNS.map((c) => c.name)] as const;
export type Column = (typeof COLUMNS)[number];

/** A stored row (either backend, column names shared). */
export interface ActivityRow {
  id: string;
  time: number | string | Date;
  key: string;
  tool: string;
  shard: string;
  duration_ms: number;
  outcome: string;
  error: string | null;
  argument_names: string;
  arguments: string | null;
  result: string | null;
  audit: number | boolean;
  replica: string | null;
  secret_scan: string | null;
  user_id: string | null;
  user_email: string | null;
  user_groups: string | null;
  user_source: string | null;
}

/** An entry as a row to insert; `time` as the backend stores it. */
export function toRow<T>(
  e: ActivityEntry,
  time: (iso: string) => T,
): Record<Column, string | number | boolean | null | T> {
  return {
    id: e.id,
    time: time(e.time),
    // The first release made key NOT NULL, and SQLite cannot relax that in place: "" is "no key".
    key: e.key ?? "",
    tool: e.tool,
    shard: e.shard,
    duration_ms: e.durationMs,
    outcome: e.outcome,
    error: e.error ?? null,
    argument_names: JSON.stringify(e.argumentNames),
    arguments: storedJson(e.arguments),
    result: storedJson(e.result),
    audit: e.audit === true,
    replica: e.replica ?? null,
    secret_scan: e.secretScan ?? null,
    user_id: e.user?.id ?? null,
    user_email: e.user?.email ?? null,
    user_groups: e.user ? JSON.stringify(e.user.groups) : null,
    user_source: e.user?.source ?? null,
  };
}

function userOf(row: ActivityRow): ActivityUser | undefined {
  if (row.user_id === null) return undefined;
  return {
    id: row.user_id,
    ...(row.user_email !== null ? { email: row.user_email } : {}),
    groups: row.user_groups !== null ? (JSON.parse(row.user_groups) as string[]) : [],
    source: row.user_source === "forwarded" ? "forwarded" : "oauth",
  };
}

export function fromRow(row: ActivityRow): ActivityEntry {
  const user = userOf(row);
  return {
    id: row.id,
    time: row.time instanceof Date ? row.time.toISOString() : new Date(row.time).toISOString(),
    ...(row.key !== "" ? { key: row.key } : {}),
    ...(user ? { user } : {}),
    tool: row.tool,
    shard: row.shard,
    durationMs: Number(row.duration_ms),
    outcome: row.outcome as ActivityOutcome,
    ...(row.error !== null ? { error: row.error } : {}),
    argumentNames: JSON.parse(row.argument_names) as string[],
    ...(row.arguments !== null ? { arguments: JSON.parse(row.arguments) as unknown } : {}),
    ...(row.result !== null ? { result: JSON.parse(row.result) as unknown } : {}),
    ...(row.audit ? { audit: true } : {}),
    ...(row.replica !== null ? { replica: row.replica } : {}),
    ...(row.secret_scan !== null ? { secretScan: row.secret_scan as SecretScanDecision } : {}),
  };
}

/** What differs between the backends' SQL. */
export interface Dialect {
  /** Numbered ($1) or anonymous (?) placeholders. */
  readonly placeholder: (index: number) => string;
  /** A query's RFC 3339 time as the backend stores it. */
  readonly timeValue: (iso: string) => unknown;
  /** A condition: the JSON array in user_groups holds the string at `marker`. */
  readonly hasGroup: (marker: string) => string;
}

/** The WHERE clause of a query. */
export function whereClause(q: ActivityQuery, dialect: Dialect): { sql: string; params: unknown[] } {
  const { placeholder, timeValue } = dialect;
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    parts.push(sql.replace("?", placeholder(params.length)));
  };
  if (q.tool) add("tool = ?", q.tool);
  if (q.shard) add("shard = ?", q.shard);
  if (q.outcome) add("outcome = ?", q.outcome);
  if (q.key) add("key = ?", q.key);
  if (q.user) {
    add("user_id = ?", q.user);
    const byId = parts.pop()!;
    add("user_email = ?", q.user);
    parts.push(`(${byId} OR ${parts.pop()!})`);
  }
  if (q.group) add(dialect.hasGroup("?"), q.group);
  if (q.secretScan) add("secret_scan = ?", q.secretScan);
  if (q.since) add("time >= ?", timeValue(q.since));
  if (q.until) add("time < ?", timeValue(q.until));
  if (q.tools) {
    if (q.tools.length === 0) parts.push("1 = 0");
    else {
      const marks = q.tools.map((t) => {
        params.push(t);
        return placeholder(params.length);
      });
      parts.push(`tool IN (${marks.join(", ")})`);
    }
  }
  return { sql: parts.length > 0 ? `WHERE ${parts.join(" AND ")}` : "", params };
}
