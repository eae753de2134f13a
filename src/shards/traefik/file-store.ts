/**
 * The managed files in Traefik's dynamic directory, and nothing else.
 *
 * Layout: every managed file sits at the top level of the directory as
 * `shardgate-<route>.yaml`. Traefik's file provider (v3.6, pkg/provider/file)
 * puts an fsnotify watch on the directory and on the files present at start,
 * but not on subdirectories: a change in a subdirectory is only noticed at the
 * next change at the top level. Subdirectories are still *read* recursively, so
 * the shard never writes YAML into one either.
 *
 * Writes are atomic: the document goes to `.shardgate-<route>.yaml.<random>.tmp`
 * in the same directory (same filesystem, so rename is atomic) and is renamed
 * over the target. Traefik reads only `.yml`, `.yaml` and `.toml` files, so it
 * never parses the half-written temp file. A per-file mutex serialises calls in
 * this process. A file without the managed header is never overwritten or removed.
 */
import { randomBytes } from "node:crypto";
import { lstat, open, readdir, readFile, rename, rm, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { fileName, hasManagedHeader, routeFromFileName } from "./naming.ts";
import { Refusal } from "./refusal.ts";

export class FileOwnershipError extends Refusal {
  override name = "FileOwnershipError";
}

export interface ManagedFile {
  readonly route: string;
  readonly file: string;
  readonly path: string;
  readonly content: string;
}

export class ManagedFileStore {
  readonly dir: string;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(route: string): string {
    return join(this.dir, fileName(route));
  }

  /** Runs `fn` after every earlier call for the same route has settled. */
  async #withLock<T>(route: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(route) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#locks.set(route, settled);
    try {
      return await next;
    } finally {
      if (this.#locks.get(route) === settled) this.#locks.delete(route);
    }
  }

  /** The file's content when it exists; throws when it exists but is not a regular file. */
  async #readExisting(path: string): Promise<string | undefined> {
    let stat;
    try {
      stat = await lstat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    if (!stat.isFile())
      throw new FileOwnershipError(`${path} exists and is not a regular file; refusing to touch it`);
    return readFile(path, "utf8");
  }

  async read(route: string): Promise<ManagedFile | undefined> {
    const path = this.pathOf(route);
    const content = await this.#readExisting(path);
    if (content === undefined) return undefined;
    if (!hasManagedHeader(content)) {
      throw new FileOwnershipError(
        `${path} exists but is not managed by shardgate (no "# managed-by: shardgate" header)`,
      );
    }
    return { route, file: fileName(route), path, content };
  }

  /**
   * Writes the document for `route`. The caller has validated `content`.
   * @returns whether a managed file was replaced
   */
  write(
    route: string,
    content: string,
    options: { replace: boolean },
  ): Promise<{ replaced: boolean; path: string }> {
    if (!hasManagedHeader(content))
      throw new Error("refusing to write a document without the managed header");
    return this.#withLock(route, async () => {
      const existing = await this.read(route);
      if (existing && !options.replace) {
        throw new FileOwnershipError(
          `route ${route} already exists (${existing.path}); pass replace: true to overwrite it`,
        );
      }
      const target = this.pathOf(route);
      const temp = join(this.dir, `.${fileName(route)}.${randomBytes(6).toString("hex")}.tmp`);
      try {
        const handle = await open(temp, "wx", 0o644);
        try {
          await handle.writeFile(content, "utf8");
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, target);
      } catch (cause) {
        await rm(temp, { force: true });
        throw new Error(`writing ${target} failed`, { cause });
      }
      return { replaced: existing !== undefined, path: target };
    });
  }

  /** Removes the managed file of `route`; false when there is none. */
  remove(route: string): Promise<boolean> {
    return this.#withLock(route, async () => {
      const existing = await this.read(route);
      if (!existing) return false;
      await unlink(existing.path);
      return true;
    });
  }

  /** Every managed file at the top level; files named like ours but without the header are skipped. */
  async list(): Promise<ManagedFile[]> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    const files: ManagedFile[] = [];
    for (const entry of entries) {
      const route = entry.isFile() ? routeFromFileName(entry.name) : undefined;
      if (!route) continue;
      const content = await this.#readExisting(join(this.dir, entry.name)).catch(() => undefined);
      if (content !== undefined && hasManagedHeader(content)) {
        files.push({ route, file: entry.name, path: join(this.dir, entry.name), content });
      }
    }
    return files.sort((a, b) => a.route.localeCompare(b.route));
  }

  /** Bumps the mtime of managed files, which Traefik's watcher sees as a change. */
  async touch(): Promise<string[]> {
    const now = new Date();
    const touched: string[] = [];
    for (const file of await this.list()) {
      await this.#withLock(file.route, () => utimes(file.path, now, now));
      touched.push(file.file);
    }
    return touched;
  }

  /** Other files at the top level that Traefik loads: they can hold the names our documents refer to. */
  async unmanagedConfigFiles(): Promise<string[]> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    const managed = new Set((await this.list()).map((f) => f.file));
    return entries
      .filter((e) => e.isFile() && /\.(ya?ml|toml)$/i.test(e.name) && !managed.has(e.name))
      .map((e) => e.name)
      .sort();
  }
}
