/**
 * The activity log on both real backends: embedded SQLite (a file in a temp
 * dir) and a real PostgreSQL server started for this file (Debian's package,
 * initdb in a temp dir, loopback port). Filters, retention by age and size
 * (audit entries kept), history across restarts, and two gateway replicas
 * sharing one PostgreSQL history where each replica shows every call once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActivityLog, type NewActivityEntry } from "../../src/gateway/activity.ts";
import {
  PostgresActivityStore,
  SqliteActivityStore,
  type ActivityStore,
} from "../../src/gateway/activity-store/index.ts";
import { startPostgres, type Postgres } from "../harness/postgres.ts";
import { startGateway, startShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import type { TestGateway, TestShard } from "../support/gateway-fixtures.ts";

let pg: Postgres;
let dir: string;
let databases = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shardgate-activity-"));
  pg = await startPostgres();
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

function entry(overrides: Partial<NewActivityEntry> & { time: string }): NewActivityEntry {
  return {
    key: "admin",
    tool: "home_echo",
    shard: "default/home",
    durationMs: 1.5,
    outcome: "ok",
    argumentNames: ["text"],
    ...overrides,
  };
}

/** Each call: a fresh database, and how to open a store on it (again and again). */
const backends: Record<string, () => Promise<() => ActivityStore>> = {
  sqlite: async () => {
    const path = join(dir, `activity-${++databases}.sqlite`);
    return () => new SqliteActivityStore(path);
  },
  postgres: async () => {
    const url = await pg.createDatabase(`activity_${++databases}`);
    return () => new PostgresActivityStore(url);
  },
};

describe.each(Object.keys(backends))("activity store: %s", (backend) => {
  let open: () => ActivityStore;
  beforeAll(async () => {
    open = await backends[backend]!();
  });

  it("filters by tool, shard, outcome, key and time range, newest first", async () => {
    const log = new ActivityLog({ store: open(), replica: "r1" });
    await log.start();
    log.add(entry({ time: "2026-01-01T00:00:00.000Z" }));
    log.add(entry({ time: "2026-01-01T00:01:00.000Z", tool: "home_add", outcome: "tool_error" }));
    log.add(entry({ time: "2026-01-01T00:02:00.000Z", shard: "ops/other", tool: "other_x", key: "chat" }));
    log.add(
      entry({
        time: "2026-01-01T00:03:00.000Z",
        outcome: "error",
        error: "boom",
        arguments: { text: "kept" },
        result: { content: [] },
      }),
    );
    const all = await log.query();
    expect(all.map((e) => e.time)).toEqual([
      "2026-01-01T00:03:00.000Z",
      "2026-01-01T00:02:00.000Z",
      "2026-01-01T00:01:00.000Z",
      "2026-01-01T00:00:00.000Z",
    ]);
    expect(all[0]).toMatchObject({ error: "boom", arguments: { text: "kept" }, replica: "r1" });
    expect(all[1]).not.toHaveProperty("arguments");
    expect((await log.query({ tool: "home_add" })).map((e) => e.outcome)).toEqual(["tool_error"]);
    expect((await log.query({ shard: "ops/other" })).map((e) => e.key)).toEqual(["chat"]);
    expect((await log.query({ outcome: "error" })).length).toBe(1);
    expect((await log.query({ key: "chat" })).length).toBe(1);
    const range = await log.query({ since: "2026-01-01T00:01:00Z", until: "2026-01-01T00:03:00Z" });
    expect(range.map((e) => e.tool)).toEqual(["other_x", "home_add"]);
    expect((await log.query({ tools: ["home_add", "other_x"] })).length).toBe(2);
    expect(await log.query({ tools: [] })).toEqual([]);
    expect((await log.query({ limit: 1 })).length).toBe(1);
    expect(await log.get(all[2]!.id)).toEqual(all[2]);
    await log.close();
  });

  it("stores the user and groups in their own columns and filters by user, email and group", async () => {
    const log = new ActivityLog({ store: open() });
    await log.start();
    const alice = {
      id: "alice",
      email: "alice@example.com",
      groups: ["family", "ops"],
      source: "oauth",
    } as const;
    const kid = { id: "kid-1", groups: ["family"], source: "forwarded" } as const;
    log.add(entry({ time: "2026-03-01T00:00:00.000Z", tool: "who_probe", key: undefined, user: alice }));
    log.add(entry({ time: "2026-03-01T00:01:00.000Z", tool: "who_probe", key: "owui", user: kid }));
    log.add(entry({ time: "2026-03-01T00:02:00.000Z", tool: "who_probe", key: "chat" }));
    const all = await log.query({ tool: "who_probe" });
    expect(all.map((e) => [e.key, e.user])).toEqual([
      ["chat", undefined],
      ["owui", kid],
      [undefined, alice],
    ]);
    const tools = (q: Parameters<ActivityLog["query"]>[0]) =>
      log.query({ tool: "who_probe", ...q }).then((found) => found.map((e) => e.user?.id ?? e.key));
    expect(await tools({ user: "alice" })).toEqual(["alice"]);
    expect(await tools({ user: "alice@example.com" })).toEqual(["alice"]);
    expect(await tools({ group: "family" })).toEqual(["kid-1", "alice"]);
    expect(await tools({ group: "ops" })).toEqual(["alice"]);
    // A group is matched whole, never as a part of another name or of the JSON text.
    expect(await tools({ group: "fam" })).toEqual([]);
    expect(await tools({ group: '"family"' })).toEqual([]);
    expect(await tools({ key: "owui", group: "family" })).toEqual(["kid-1"]);
    expect(await tools({ user: "nobody" })).toEqual([]);
    await log.close();
  });

  it("keeps its history across a restart", async () => {
    const first = new ActivityLog({ store: open() });
    await first.start();
    const before = (await first.query({ limit: 1000 })).length;
    first.add(entry({ time: new Date().toISOString(), tool: "restart_probe" }));
    await first.close();
    const second = new ActivityLog({ store: open() });
    await second.start();
    expect((await second.query({ tool: "restart_probe" })).length).toBe(1);
    expect((await second.query({ limit: 1000 })).length).toBe(before + 1);
    await second.close();
  });

  it("applies retention by age and by size, never removing audit entries for size", async () => {
    const store = (await backends[backend]!())();
    await store.init();
    const now = Date.parse("2030-06-01T00:00:00Z");
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const log = new ActivityLog({ store, retention: { maxAgeMs: 60 * 60_000, maxEntries: 2 } });
    await log.start();
    for (const m of [120, 50, 40, 30, 20]) log.add(entry({ time: at(m), tool: "ret", key: `m${m}` }));
    log.add(entry({ time: at(45), tool: "ret", key: "audited", audit: true }));
    log.add(entry({ time: at(90), tool: "ret", key: "old-audit", audit: true }));
    await log.flush();
    const removed = await store.prune({ maxAgeMs: 60 * 60_000, maxEntries: 2 }, now);
    expect(removed).toBe(4);
    const kept = await log.query({ tool: "ret" });
    expect(kept.map((e) => e.key)).toEqual(["m20", "m30", "audited"]);
    await log.close();
  });

  it("records each call's secret-scan decision and filters by it", async () => {
    const log = new ActivityLog({ store: open() });
    await log.start();
    const decisions = ["off", "clean", "redacted", "blocked"] as const;
    decisions.forEach((secretScan, i) =>
      log.add(entry({ time: `2026-02-01T00:0${i}:00.000Z`, tool: "scan_probe", secretScan })),
    );
    const all = await log.query({ tool: "scan_probe" });
    expect(all.map((e) => e.secretScan)).toEqual([...decisions].reverse());
    const blocked = await log.query({ tool: "scan_probe", secretScan: "blocked" });
    expect(blocked).toHaveLength(1);
    expect(await log.get(blocked[0]!.id)).toMatchObject({ secretScan: "blocked" });
    await log.close();
  });
});

/**
 * A database made by the first release (the table before secret_scan), with
 * one row: each store must add the column at init and keep the row.
 */
const FIRST_RELEASE: Record<string, (target: string) => Promise<void>> = {
  sqlite: async (path) => {
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(path);
    db.exec(`CREATE TABLE activity (id TEXT PRIMARY KEY, time INTEGER NOT NULL, key TEXT NOT NULL,
      tool TEXT NOT NULL, shard TEXT NOT NULL, duration_ms REAL NOT NULL, outcome TEXT NOT NULL, error TEXT,
      argument_names TEXT NOT NULL, arguments TEXT, result TEXT, audit INTEGER NOT NULL DEFAULT 0, replica TEXT);
      INSERT INTO activity VALUES ('old-1', ${Date.parse("2026-01-01T00:00:00Z")}, 'admin', 'home_echo',
      'default/home', 1.5, 'ok', NULL, '["text"]', NULL, NULL, 0, 'r0');`);
    db.close();
  },
  postgres: async (url) => {
    const { default: postgres } = await import("postgres");
    const sql = postgres(url, { onnotice: () => {} });
    await sql.unsafe(`CREATE TABLE shardgate_activity (id TEXT PRIMARY KEY, time TIMESTAMPTZ NOT NULL,
      key TEXT NOT NULL, tool TEXT NOT NULL, shard TEXT NOT NULL, duration_ms DOUBLE PRECISION NOT NULL,
      outcome TEXT NOT NULL, error TEXT, argument_names TEXT NOT NULL, arguments TEXT, result TEXT,
      audit BOOLEAN NOT NULL DEFAULT FALSE, replica TEXT);
      INSERT INTO shardgate_activity VALUES ('old-1', '2026-01-01T00:00:00Z', 'admin', 'home_echo',
      'default/home', 1.5, 'ok', NULL, '["text"]', NULL, NULL, FALSE, 'r0');`);
    await sql.end();
  },
};

describe.each(Object.keys(FIRST_RELEASE))("activity store migration: %s", (backend) => {
  it("adds secret_scan to a first-release database, keeps its rows (no decision recorded), and inits again", async () => {
    const target =
      backend === "sqlite"
        ? join(dir, `first-release-${++databases}.sqlite`)
        : await pg.createDatabase(`first_release_${++databases}`);
    await FIRST_RELEASE[backend]!(target);
    const open = () =>
      backend === "sqlite" ? new SqliteActivityStore(target) : new PostgresActivityStore(target);
    const store = open();
    await store.init();
    expect(await store.get("old-1")).toEqual({
      id: "old-1",
      time: "2026-01-01T00:00:00.000Z",
      key: "admin",
      tool: "home_echo",
      shard: "default/home",
      durationMs: 1.5,
      outcome: "ok",
      argumentNames: ["text"],
      replica: "r0",
    });
    await store.insert([
      { ...entry({ time: "2026-01-02T00:00:00.000Z", secretScan: "redacted" }), id: "new-1" },
    ]);
    await store.close();
    const again = open();
    await again.init();
    expect((await again.query({ secretScan: "redacted" })).map((e) => e.id)).toEqual(["new-1"]);
    expect((await again.query({})).map((e) => e.id)).toEqual(["new-1", "old-1"]);
    await again.close();
  });
});

/**
 * A database of the release before users were stored (secret_scan present),
 * with the caller squeezed into key as that release wrote it.
 */
const BEFORE_USERS: Record<string, (target: string) => Promise<void>> = {
  sqlite: async (path) => {
    await FIRST_RELEASE.sqlite!(path);
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(path);
    db.exec(`ALTER TABLE activity ADD COLUMN secret_scan TEXT;
      INSERT INTO activity VALUES ('old-2', ${Date.parse("2026-01-01T00:01:00Z")}, 'user:alice', 'home_echo',
      'default/home', 2, 'ok', NULL, '[]', NULL, NULL, 1, 'r0', 'clean');
      INSERT INTO activity VALUES ('old-3', ${Date.parse("2026-01-01T00:02:00Z")}, 'owui/kid-1', 'home_echo',
      'default/home', 3, 'error', 'boom', '[]', NULL, NULL, 0, 'r0', 'off');`);
    db.close();
  },
  postgres: async (url) => {
    await FIRST_RELEASE.postgres!(url);
    const { default: postgres } = await import("postgres");
    const sql = postgres(url, { onnotice: () => {} });
    await sql.unsafe(`ALTER TABLE shardgate_activity ADD COLUMN secret_scan TEXT;
      INSERT INTO shardgate_activity VALUES ('old-2', '2026-01-01T00:01:00Z', 'user:alice', 'home_echo',
      'default/home', 2, 'ok', NULL, '[]', NULL, NULL, TRUE, 'r0', 'clean');
      INSERT INTO shardgate_activity VALUES ('old-3', '2026-01-01T00:02:00Z', 'owui/kid-1', 'home_echo',
      'default/home', 3, 'error', 'boom', '[]', NULL, NULL, FALSE, 'r0', 'off');`);
    await sql.end();
  },
};

describe.each(Object.keys(BEFORE_USERS))("activity store migration to user columns: %s", (backend) => {
  it("adds the user columns to an existing database, keeps every old row as it was, and filters new ones", async () => {
    const target =
      backend === "sqlite"
        ? join(dir, `before-users-${++databases}.sqlite`)
        : await pg.createDatabase(`before_users_${++databases}`);
    await BEFORE_USERS[backend]!(target);
    const open = () =>
      backend === "sqlite" ? new SqliteActivityStore(target) : new PostgresActivityStore(target);
    const store = open();
    await store.init();
    const old = await store.query({});
    expect(old.map((e) => [e.id, e.key, e.user])).toEqual([
      ["old-3", "owui/kid-1", undefined],
      ["old-2", "user:alice", undefined],
      ["old-1", "admin", undefined],
    ]);
    expect(old[0]).toMatchObject({ outcome: "error", error: "boom", secretScan: "off", durationMs: 3 });
    expect(old[1]).toMatchObject({ audit: true, secretScan: "clean" });
    const user = { id: "alice", groups: ["ops"], source: "oauth" } as const;
    await store.insert([
      { ...entry({ time: "2026-01-03T00:00:00.000Z", key: undefined, user }), id: "new-1" },
    ]);
    await store.close();
    // A second start (every replica runs init) changes nothing more.
    const again = open();
    await again.init();
    expect((await again.query({ user: "alice" })).map((e) => e.id)).toEqual(["new-1"]);
    expect((await again.query({ group: "ops" })).map((e) => e.id)).toEqual(["new-1"]);
    expect((await again.query({})).map((e) => e.id)).toEqual(["new-1", "old-3", "old-2", "old-1"]);
    expect(await again.get("new-1")).toMatchObject({ user });
    expect(await again.get("new-1")).not.toHaveProperty("key");
    await again.close();
  });
});

describe("activity across gateway replicas and restarts", () => {
  let shard: TestShard;
  const shards = (url: string) => ({ home: { url } });

  beforeAll(async () => {
    shard = await startShard({ name: "home" });
  });
  afterAll(async () => {
    await shard?.close();
  });

  /** One call; retried while the catalogue is between versions (an unknown tool records nothing). */
  async function call(gw: TestGateway, text: string): Promise<void> {
    await eventually(async () => {
      const res = await fetch(`${gw.base}/api/tools/home_echo/call`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ arguments: { text } }),
      });
      return res.status === 200;
    }, `call ${text}`);
  }

  /** A gateway whose catalogue lists the shard's tools. */
  async function ready(gw: TestGateway): Promise<TestGateway> {
    await eventually(() => gw.gateway.catalogue.catalogue.toolsByName.has("home_echo"), "home_echo listed");
    return gw;
  }

  async function activity(gw: TestGateway): Promise<{ id: string; replica: string }[]> {
    const res = await fetch(`${gw.base}/api/activity?limit=1000`);
    return ((await res.json()) as { entries: { id: string; replica: string }[] }).entries;
  }

  it("two replicas on one PostgreSQL: each shows every call once; a restart keeps the history", async () => {
    const url = await pg.createDatabase("replicas");
    const replica = (name: string) =>
      startGateway(shards(shard.url), {
        activity: { store: new PostgresActivityStore(url), replica: name },
      }).then(ready);
    const a = await replica("gw-a");
    const b = await replica("gw-b");
    for (let i = 0; i < 3; i++) await call(a, `a${i}`);
    for (let i = 0; i < 2; i++) await call(b, `b${i}`);
    // Each replica writes its own calls off the call's path: the other sees them a moment later.
    for (const gw of [a, b]) {
      const entries = await eventually(async () => {
        const seen = await activity(gw);
        return seen.length >= 5 ? seen : undefined;
      }, "5 entries");
      expect(entries.length).toBe(5);
      expect(new Set(entries.map((e) => e.id)).size).toBe(5);
      expect(entries.filter((e) => e.replica === "gw-a").length).toBe(3);
    }
    await a.close();
    await b.close();
    const again = await replica("gw-c");
    expect((await activity(again)).length).toBe(5);
    await again.close();
  });

  it("a gateway restarted on the same SQLite file keeps the history", async () => {
    const path = join(dir, "gateway.sqlite");
    const start = () =>
      startGateway(shards(shard.url), { activity: { store: new SqliteActivityStore(path) } });
    const first = await start();
    await call(first, "before restart");
    await first.close();
    const second = await start();
    expect((await activity(second)).length).toBe(1);
    await call(second, "after restart");
    expect((await activity(second)).length).toBe(2);
    await second.close();
  });
});

describe("activity store errors", () => {
  it("names the flag and the file when SQLite cannot open it", async () => {
    const store = new SqliteActivityStore(join(dir, "not-a-dir.sqlite", "activity.sqlite"));
    await import("node:fs/promises").then((fs) => fs.writeFile(join(dir, "not-a-dir.sqlite"), "x"));
    await expect(store.init()).rejects.toThrow(
      /^activity log: cannot open SQLite file .*not-a-dir\.sqlite.* \(--activity-db\)/,
    );
  });

  it("names the flag, not the password, when PostgreSQL cannot be reached", async () => {
    const closed = `postgres://shard:s3cret-pw@127.0.0.1:${pg.port + 1}/nope`;
    const store = new PostgresActivityStore(closed);
    const error = await store.init().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    await store.close();
    expect(error?.message).toMatch(
      /^activity log: cannot use PostgreSQL at postgres:\/\/shard:\*\*\*@127\.0\.0\.1:\d+\/nope \(--activity-postgres-url\)/,
    );
    expect(error?.message).not.toContain("s3cret-pw");
  });
});
