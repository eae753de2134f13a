/**
 * Embedded SQLite (node:sqlite, built into Node 24): the default store, one
 * file per replica. WAL mode, so readers never wait for the writer; time is
 * kept as epoch milliseconds, so ordering and ranges use the index.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import * as rows from "./types.ts";
import type { ActivityEntry, ActivityQuery, ActivityRow, ActivityStore, Retention } from "./types.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS activity (
  id TEXT PRIMARY KEY,
  time INTEGER NOT NULL,
  key TEXT NOT NULL,
  tool TEXT NOT NULL,
  shard TEXT NOT NULL,
  duration_ms REAL NOT NULL,
  outcome TEXT NOT NULL,
  error TEXT,
  argument_names TEXT NOT NULL,
  arguments TEXT,
  result TEXT,
  audit INTEGER NOT NULL DEFAULT 0,
  replica TEXT
);
CREATE INDEX IF NOT EXISTS activity_time ON activity (time);
CREATE INDEX IF NOT EXISTS activity_tool_time ON activity (tool, time);
CREATE INDEX IF NOT EXISTS activity_shard_time ON activity (shard, time);
`;

const COLUMNS = rows.COLUMNS.join(", ");

/**
 * ADDED_COLUMNS this database lacks, added (SQLite has no ADD COLUMN IF NOT
 * EXISTS), then their indexes. Adding a nullable column rewrites no row: an
 * upgraded file keeps every entry as it was.
 */
function migrate(db: DatabaseSync): void {
  const present = new Set(
    (db.prepare("PRAGMA table_info(activity)").all() as { name: string }[]).map((c) => c.name),
  );
  for (const column of rows.ADDED_COLUMNS) {
    if (!present.has(column.name)) db.exec(`ALTER TABLE activity ADD COLUMN ${column.name} ${column.type}`);
  }
  for (const index of rows.ADDED_INDEXES)
    db.exec(`CREATE INDEX IF NOT EXISTS activity_${index.name} ON activity (${index.columns})`);
}

const DIALECT: rows.Dialect = {
  placeholder: () => "?",
  timeValue: (iso) => Date.parse(iso),
  hasGroup: (marker) => `EXISTS (SELECT 1 FROM json_each(user_groups) WHERE json_each.value = ${marker})`,
};

export class SqliteActivityStore implements ActivityStore {
  readonly kind = "sqlite";
  readonly #path: string;
  #db: DatabaseSync | undefined;

  /** @param path a file, or ":memory:" (gone with the process) */
  constructor(path: string) {
    this.#path = path;
  }

  get #open(): DatabaseSync {
    if (!this.#db) throw new Error("activity store is not initialised (or closed)");
    return this.#db;
  }

  // async: a failure rejects rather than throwing at the call.
  async init(): Promise<void> {
    try {
      if (this.#path !== ":memory:") mkdirSync(dirname(this.#path), { recursive: true });
      const db = new DatabaseSync(this.#path);
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
      db.exec(SCHEMA);
      migrate(db);
      this.#db = db;
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new Error(`activity log: cannot open SQLite file ${this.#path} (--activity-db): ${why}`, {
        cause,
      });
    }
  }

  async insert(entries: readonly ActivityEntry[]): Promise<void> {
    const db = this.#open;
    const statement = db.prepare(
      `INSERT OR IGNORE INTO activity (${COLUMNS}) VALUES (${rows.COLUMNS.map(() => "?").join(", ")})`,
    );
    db.exec("BEGIN");
    try {
      for (const e of entries) {
        const row = rows.toRow(e, Date.parse);
        // SQLite has no booleans: audit is 0 or 1.
        statement.run(...rows.COLUMNS.map((c) => (typeof row[c] === "boolean" ? Number(row[c]) : row[c])));
      }
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }

  async query(q: ActivityQuery): Promise<ActivityEntry[]> {
    const where = rows.whereClause(q, DIALECT);
    const found = this.#open
      .prepare(`SELECT ${COLUMNS} FROM activity ${where.sql} ORDER BY time DESC, id DESC LIMIT ?`)
      .all(...(where.params as SQLInputValue[]), q.limit ?? 100) as unknown as ActivityRow[];
    return found.map(rows.fromRow);
  }

  async get(id: string): Promise<ActivityEntry | undefined> {
    const row = this.#open.prepare(`SELECT ${COLUMNS} FROM activity WHERE id = ?`).get(id) as
      ActivityRow | undefined;
    return row ? rows.fromRow(row) : undefined;
  }

  async prune(retention: Retention, now = Date.now()): Promise<number> {
    const db = this.#open;
    const byAge = db.prepare("DELETE FROM activity WHERE time < ?").run(now - retention.maxAgeMs);
    // Keep the newest maxEntries ordinary entries; audit entries leave by age only.
    const bySize = db
      .prepare(
        `DELETE FROM activity WHERE audit = 0 AND id IN (
           SELECT id FROM activity WHERE audit = 0 ORDER BY time DESC, id DESC LIMIT -1 OFFSET ?)`,
      )
      .run(retention.maxEntries);
    return Number(byAge.changes) + Number(bySize.changes);
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }
}
