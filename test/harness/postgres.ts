/**
 * A real PostgreSQL server for one test file: Debian's postgresql package
 * (`make test-deps` installs it), a fresh cluster from initdb in a temp dir,
 * listening on a free loopback port and a socket in that dir, stopped and
 * removed by stop(). PostgreSQL refuses to run as root, so as root (CI) the
 * server runs as the unprivileged `nobody` user. Nothing is cached.
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { freePort } from "./net.ts";
import { sleep } from "../../src/util/index.ts";
import { spawnManaged, type ManagedProcess } from "./process.ts";

const run = promisify(execFile);

export interface Postgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** A fresh database on this server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** The bin directory of the newest installed PostgreSQL server. */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "postgres")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) {
    throw new Error(
      "PostgreSQL server not found under /usr/lib/postgresql: run `make test-deps` (apt-get install postgresql)",
    );
  }
  return join(root, versions[0], "bin");
}

/** Runs as `nobody` when we are root (PostgreSQL will not run as root). */
function asServerUser(command: string, args: string[]): [string, string[]] {
  if (userInfo().uid !== 0) return [command, args];
  return ["setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", command, ...args]];
}

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), "shardgate-pg-"));
  if (userInfo().uid === 0) chownSync(dir, 65534, 65534);
  const data = join(dir, "data");
  const [initCmd, initArgs] = asServerUser(join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
    "--no-instructions",
  ]);
  try {
    await run(initCmd, initArgs, { cwd: dir });
  } catch (cause) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(cause as { stderr?: string }).stderr ?? String(cause)}`, { cause });
  }
  const port = await freePort();
  const [cmd, args] = asServerUser(join(bin, "postgres"), [
    "-D",
    data,
    "-k",
    dir,
    "-p",
    String(port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "full_page_writes=off",
  ]);
  const server: ManagedProcess = spawnManaged("postgres", cmd, args, {
    logPath: join(dir, "postgres.log"),
    cwd: dir,
    cleanupDir: dir,
  });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`SELECT 1`;
      await sql.end();
      break;
    } catch (error) {
      await sql.end({ timeout: 0 }).catch(() => undefined);
      if (server.exit || Date.now() > deadline) {
        await server.stop();
        const log = server.logTail(20);
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`PostgreSQL did not start: ${String(error)}\n${log}`);
      }
      await sleep(100);
    }
  }
  return {
    url,
    port,
    async createDatabase(name) {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      await sql.unsafe(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
      await sql.end();
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    async stop() {
      await server.stop(5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
