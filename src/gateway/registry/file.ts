/**
 * Standalone registry: the same shard declarations as McpShards, from a YAML
 * file, reloaded when it changes. A broken file keeps the last good registry.
 *
 * Accepted forms:
 *  - McpShard documents (multi-document YAML, or a YAML list of them);
 *  - `shards: { <name>: <spec> }`.
 */
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { mcpShardSpec, mcpShardStatus } from "../../api/index.ts";
import type { Logger } from "../../log.ts";
import { RecordSnapshot } from "./snapshot.ts";
import { toShardRecord, type RecordOptions } from "./record.ts";
import { RegistryReadOnlyError, type Registry, type ShardRecord, type ShardTarget } from "./types.ts";
import { messageOf } from "../../util/index.ts";

export class ShardsFileError extends Error {
  override name = "ShardsFileError";
}

/** Secret names are DNS subdomains; keys are [-._a-zA-Z0-9]. Neither may climb out of --secrets-dir. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

function checkSecretRef(name: string, key: string, shard: string): void {
  if (!SECRET_NAME.test(name) || name.includes(".."))
    throw new ShardsFileError(
      `shard ${shard}: secret name ${JSON.stringify(name)} is not a DNS subdomain name (lower-case letters, digits, "-", ".")`,
    );
  if (!SECRET_KEY.test(key) || key.includes(".."))
    throw new ShardsFileError(
      `shard ${shard}: secret key ${JSON.stringify(key)} may hold only letters, digits, "-", "_", "." (and no "..")`,
    );
}

interface Declared {
  namespace: string;
  name: string;
  spec: unknown;
  status?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function declarations(docs: unknown[]): Declared[] {
  const out: Declared[] = [];
  const fromDoc = (doc: unknown, where: string) => {
    if (!isObject(doc)) throw new ShardsFileError(`${where}: expected an McpShard document`);
    const meta = doc.metadata;
    if (!isObject(meta) || typeof meta.name !== "string" || meta.name === "") {
      throw new ShardsFileError(`${where}: metadata.name is required`);
    }
    const namespace = typeof meta.namespace === "string" && meta.namespace ? meta.namespace : "default";
    out.push({ namespace, name: meta.name, spec: doc.spec ?? {}, status: doc.status });
  };
  docs.forEach((doc, i) => {
    if (doc === null || doc === undefined) return;
    if (Array.isArray(doc)) doc.forEach((d, j) => fromDoc(d, `document ${i + 1}, item ${j + 1}`));
    else if (isObject(doc) && "shards" in doc) {
      const shards = doc.shards;
      if (!isObject(shards))
        throw new ShardsFileError(`document ${i + 1}: "shards" must be a map of name → spec`);
      for (const [name, spec] of Object.entries(shards))
        out.push({ namespace: "default", name, spec: spec ?? {} });
    } else fromDoc(doc, `document ${i + 1}`);
  });
  return out;
}

/** Pure: file text → records, or a ShardsFileError naming the shard and the field. */
export function parseShardsFile(text: string, options: RecordOptions = {}): Map<string, ShardRecord> {
  const docs = parseAllDocuments(text);
  const values: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0)
      throw new ShardsFileError(`invalid YAML: ${doc.errors[0]?.message ?? "parse error"}`);
    values.push(doc.toJS());
  }
  const records = new Map<string, ShardRecord>();
  for (const d of declarations(values)) {
    const where = `shard ${d.namespace}/${d.name}`;
    const spec = mcpShardSpec.safeParse(d.spec);
    if (!spec.success) {
      const problems = spec.error.issues.map((issue) => {
        const field = ["spec", ...issue.path.map(String)].join(".");
        return `${field}: ${issue.message}`;
      });
      throw new ShardsFileError(`${where}: ${problems.join("; ")}`);
    }
    const kinds = [spec.data.container, spec.data.stdio, spec.data.url].filter((x) => x !== undefined).length;
    if (kinds !== 1)
      throw new ShardsFileError(`${where}: spec: exactly one of container, stdio or url must be set`);
    let status;
    if (d.status !== undefined) {
      const parsed = mcpShardStatus.safeParse(d.status);
      if (!parsed.success)
        throw new ShardsFileError(`${where}: status: ${parsed.error.issues[0]?.message ?? "invalid"}`);
      status = parsed.data;
    }
    const key = `${d.namespace}/${d.name}`;
    if (records.has(key)) throw new ShardsFileError(`${where}: declared twice`);
    records.set(
      key,
      // Files have no operator by default: external shards route at spec.url.
      toShardRecord(
        { namespace: d.namespace, name: d.name, spec: spec.data, status },
        { requireReady: options.requireReady ?? false },
      ),
    );
  }
  return records;
}

export interface FileRegistryOptions {
  readonly path: string;
  readonly logger: Logger;
  /**
   * Shards in files have no operator: route external shards at spec.url.
   * @default false
   */
  readonly requireReady?: boolean;
  /** Directory with `<secret name>/<key>` files for spec.auth. @default none (environment only) */
  readonly secretsDir?: string;
  /** @default 200 */
  readonly debounceMs?: number;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** SHARDGATE_SECRET_<NAME>_<KEY>, upper-cased with other characters as "_". */
export function secretEnvName(secret: string, key: string): string {
  const up = (s: string) => s.replace(/[^a-zA-Z0-9]/g, "_").toUpperCase();
  return `SHARDGATE_SECRET_${up(secret)}_${up(key)}`;
}

export class FileRegistry extends RecordSnapshot implements Registry {
  readonly mode = "file" as const;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastText: string | undefined;
  #opts: FileRegistryOptions;
  /** Last load error, cleared by a good load (shown by /health). */
  lastError: string | undefined;

  constructor(options: FileRegistryOptions) {
    super();
    this.#opts = options;
  }

  async start(): Promise<void> {
    // The first load must succeed: a gateway that starts on a broken file
    // would serve nothing without saying why.
    const text = await readFile(this.#opts.path, "utf8");
    this.#apply(text, true);
    const file = basename(this.#opts.path);
    // Watch the directory: editors and ConfigMap mounts replace the file.
    this.#watcher = watch(dirname(this.#opts.path), (_event, changed) => {
      if (changed && changed !== file && !changed.startsWith("..")) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#reload(), this.#opts.debounceMs ?? 200);
    });
    this.#watcher.on("error", (error) => this.#opts.logger.error({ err: error }, "shards file watch failed"));
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  async #reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#opts.path, "utf8");
    } catch (error) {
      this.lastError = `cannot read ${this.#opts.path}: ${String(error)}`;
      this.#opts.logger.error({ err: error }, "shards file unreadable; keeping the last good registry");
      return;
    }
    try {
      this.#apply(text, false);
    } catch (error) {
      this.lastError = messageOf(error);
      this.#opts.logger.error(
        { error: this.lastError },
        "shards file invalid; keeping the last good registry",
      );
    }
  }

  #apply(text: string, first: boolean): void {
    if (!first && text === this.#lastText) return;
    this.records = parseShardsFile(text, { requireReady: this.#opts.requireReady ?? false });
    this.#lastText = text;
    this.lastError = undefined;
    this.#opts.logger.info({ shards: this.records.size }, "shards file loaded");
    if (!first) this.changed();
  }

  async resolveAuth(target: ShardTarget): Promise<Record<string, string>> {
    const auth = target.auth;
    if (!auth) return {};
    const { name, key } = auth.secretKeyRef;
    checkSecretRef(name, key, target.key);
    const env = this.#opts.env ?? process.env;
    let value = env[secretEnvName(name, key)];
    if (value === undefined && this.#opts.secretsDir) {
      try {
        value = (await readFile(join(this.#opts.secretsDir, name, key), "utf8")).trim();
      } catch (cause) {
        throw new Error(`secret ${name}/${key} for shard ${target.key} not found`, { cause });
      }
    }
    if (value === undefined) {
      throw new Error(
        `secret ${name}/${key} for shard ${target.key} not found: set ${secretEnvName(name, key)} or --secrets-dir`,
      );
    }
    return { [auth.header]: `${auth.valuePrefix ?? ""}${value}` };
  }

  async setEnabled(): Promise<void> {
    throw new RegistryReadOnlyError(
      "shards come from a file in standalone mode: edit the file to enable or disable",
    );
  }

  async restart(): Promise<void> {
    throw new RegistryReadOnlyError(
      "standalone mode has no Deployments to restart: restart the shard's process",
    );
  }

  async reportGatewayStatus(): Promise<void> {}
}
