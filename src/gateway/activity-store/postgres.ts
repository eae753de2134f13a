/**
 * PostgreSQL (the `postgres` driver): one history shared by every replica.
 * Each replica inserts its own calls under random ids, so every replica's view
 * shows each call once. Schema creation is serialised with an advisory lock,
 * since replicas start together.
 */
import postgres, { type Sql } from "postgres";
import * as rows from "./types.ts";
import type { ActivityEntry, ActivityQuery, ActivityRow, ActivityStore, Retention } from "./types.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shardgate_activity (
  id TEXT PRIMARY KEY,
  time TIMESTAMPTZ NOT NULL,
  key TEXT NOT NULL,
  tool TEXT NOT NULL,
  shard TEXT NOT NULL,
  duration_ms DOUBLE PRECISION NOT NULL,
  outcome TEXT NOT NULL,
  error TEXT,
  argument_names TEXT NOT NULL,
  arguments TEXT,
  result TEXT,
  audit BOOLEAN NOT NULL DEFAULT FALSE,
  replica TEXT
);
CREATE INDEX IF NOT EXISTS shardgate_activity_time ON shardgate_activity (time);
CREATE INDEX IF NOT EXISTS shardgate_activity_tool_time ON shardgate_activity (tool, time);
CREATE INDEX IF NOT EXISTS shardgate_activity_shard_time ON shardgate_activity (shard, time);
`;

/** Arbitrary constant: the advisory lock that serialises schema creation. */
const SCHEMA_LOCK = 0x5ba2d6a7;

const COLUMNS = rows.COLUMNS.join(", ");

/** Adds the ADDED_COLUMNS (nullable: no row is rewritten) and their indexes an older schema lacks. */
const MIGRATIONS = [
  ...rows.ADDED_COLUMNS.map(
    (c) => `ALTER TABLE shardgate_activity ADD COLUMN IF NOT EXISTS ${c.name} ${c.type};`,
  ),
  ...rows.ADDED_INDEXES.map(
    (i) => `CREATE INDEX IF NOT EXISTS shardgate_activity_${i.name} ON shardgate_activity (${i.columns});`,
  ),
].join("\n");

const DIALECT: rows.Dialect = {
  placeholder: (i) => `$${i}`,
  timeValue: (iso) => iso,
  // Stored as TEXT like arguments and result; containment needs jsonb.
  hasGroup: (marker) => `user_groups::jsonb @> jsonb_build_array(${marker}::text)`,
};

export class PostgresActivityStore implements ActivityStore {
  readonly kind = "postgres";
  readonly #sql: Sql;
  /** The URL without its password, for error messages. */
  readonly #where: string;

  /** @param url postgres://user:password@host:port/db (or a socket: ?host=/dir) */
  constructor(url: string, options: { max?: number } = {}) {
    this.#sql = postgres(url, { max: options.max ?? 4, onnotice: () => {}, connect_timeout: 10 });
    this.#where = url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
  }

  async init(): Promise<void> {
    try {
      await this.#sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`;
        await tx.unsafe(SCHEMA);
        await tx.unsafe(MIGRATIONS);
      });
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new Error(
        `activity log: cannot use PostgreSQL at ${this.#where} (--activity-postgres-url): ${why}`,
        {
          cause,
        },
      );
    }
  }

  async insert(entries: readonly ActivityEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const inserted = entries.map((e) => rows.toRow(e, (iso) => new Date(iso)));
    await this.#sql`INSERT INTO shardgate_activity ${this.#sql(inserted)} ON CONFLICT (id) DO NOTHING`;
  }

  async query(q: ActivityQuery): Promise<ActivityEntry[]> {
    const where = rows.whereClause(q, DIALECT);
    const params = [...where.params, q.limit ?? 100];
    const found = await this.#sql.unsafe<ActivityRow[]>(
      `SELECT ${COLUMNS} FROM shardgate_activity ${where.sql} ORDER BY time DESC, id DESC LIMIT $${params.length}`,
      params as string[],
    );
    return found.map(rows.fromRow);
  }

  async get(id: string): Promise<ActivityEntry | undefined> {
    const found = await this.#sql.unsafe<ActivityRow[]>(
      `SELECT ${COLUMNS} FROM shardgate_activity WHERE id = $1`,
      [id],
    );
    return found[0] ? rows.fromRow(found[0]) : undefined;
  }

  async prune(retention: Retention, now = Date.now()): Promise<number> {
    const byAge = await this
      .#sql`DELETE FROM shardgate_activity WHERE time < ${new Date(now - retention.maxAgeMs)}`;
    const bySize = await this.#sql`
      DELETE FROM shardgate_activity WHERE audit = FALSE AND id IN (
        SELECT id FROM shardgate_activity WHERE audit = FALSE
        ORDER BY time DESC, id DESC OFFSET ${retention.maxEntries})`;
    return byAge.count + bySize.count;
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}
