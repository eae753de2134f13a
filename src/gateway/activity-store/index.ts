export { PostgresActivityStore } from "./postgres.ts";
export { SqliteActivityStore } from "./sqlite.ts";
export {
  DEFAULT_RETENTION,
  type ActivityEntry,
  type ActivityOutcome,
  type ActivityQuery,
  type ActivityUser,
  type ActivityStore,
  type Retention,
  type SecretScanDecision,
} from "./types.ts";

import { PostgresActivityStore } from "./postgres.ts";
import { SqliteActivityStore } from "./sqlite.ts";
import type { ActivityStore } from "./types.ts";

/** PostgreSQL when a URL is given (replicas share it), else the SQLite file. */
export function openActivityStore(options: { postgresUrl?: string; sqlitePath: string }): ActivityStore {
  if (options.postgresUrl) return new PostgresActivityStore(options.postgresUrl);
  return new SqliteActivityStore(options.sqlitePath);
}
