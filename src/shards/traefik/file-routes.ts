/**
 * Routes as files in the dynamic directory of Traefik's file provider: one
 * managed file per route (ManagedFileStore does the safe writing), validated
 * before it is written, since one invalid file makes Traefik ignore every
 * later change in the directory.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ManagedFileStore } from "./file-store.ts";
import { objectName } from "./naming.ts";
import { ToolFailure } from "./refusal.ts";
import { buildFileDocument, type RouteSpec } from "./route-spec.ts";
import type {
  CreateOptions,
  CreateOutcome,
  ExpectedRouter,
  FileValidation,
  RouteStore,
} from "./route-store.ts";
import { validateDocument, type KnownObjects } from "./validate.ts";

export class FileRouteStore implements RouteStore {
  readonly mode = "file";
  readonly #files: ManagedFileStore;

  constructor(files: ManagedFileStore) {
    this.#files = files;
  }

  async managedRouterNames(): Promise<Set<string>> {
    return new Set((await this.#files.list()).map((f) => `${objectName(f.route)}@file`));
  }

  async create(spec: RouteSpec, _rule: string, options: CreateOptions): Promise<CreateOutcome> {
    const doc = buildFileDocument(spec);
    const check = validateDocument(doc.text, { known: options.known });
    if (!check.valid) {
      throw new ToolFailure("the route's document is invalid; nothing was written", {
        errors: check.errors,
        document: doc.text,
      });
    }
    const file = this.#files.pathOf(spec.name);
    const where = { mode: "file", file, router: doc.apiRouterName };
    if (options.dryRun) {
      return { apiRouterName: doc.apiRouterName, report: { dry_run: true, ...where, document: doc.text } };
    }
    const { replaced } = await this.#files.write(spec.name, doc.text, { replace: options.replace });
    return { apiRouterName: doc.apiRouterName, report: { created: !replaced, replaced, ...where } };
  }

  async delete(name: string): Promise<{ removed: boolean; routerNames: string[] }> {
    if (!(await this.#files.read(name)))
      throw new ToolFailure(`no route ${name} managed by shardgate (no ${this.#files.pathOf(name)})`);
    return { removed: await this.#files.remove(name), routerNames: [`${objectName(name)}@file`] };
  }

  async reload(known: KnownObjects) {
    const directory = await this.#validateDirectory(known);
    const expected: ExpectedRouter[] = [];
    for (const f of await this.#files.list()) {
      const { config } = validateDocument(f.content);
      for (const [name, r] of Object.entries(config?.http?.routers ?? {}))
        expected.push({ protocol: "http", name: `${name}@file`, rule: r.rule });
      for (const [name, r] of Object.entries(config?.tcp?.routers ?? {}))
        expected.push({ protocol: "tcp", name: `${name}@file`, rule: r.rule });
      for (const name of Object.keys(config?.udp?.routers ?? {}))
        expected.push({ protocol: "udp", name: `${name}@file` });
    }
    // The file watcher reacts to any event in the directory; an mtime bump is enough to make Traefik re-read it.
    const touched = await this.#files.touch();
    return { expected, touched, directory };
  }

  async stalledHint(known: KnownObjects): Promise<string> {
    const broken = (await this.#validateDirectory(known).catch(() => [])).filter((r) => !r.valid);
    if (broken.length > 0) {
      return `Traefik keeps its previous configuration while any file in the directory is invalid: ${broken
        .map(
          (b) =>
            `${b.file}${b.managed ? "" : " (not managed by shardgate)"}: ${b.errors[0]?.message ?? "invalid"}`,
        )
        .join("; ")}`;
    }
    return "Traefik's API does not show the router yet: check that Traefik's file provider watches this directory (providers.file.directory, watch=true) and Traefik's logs";
  }

  readonly validateFiles = async (known: KnownObjects) => ({
    dir: this.#files.dir,
    files: await this.#validateDirectory(known),
  });

  /** Every YAML file at the top level of the dynamic directory (read-only); one invalid file stalls Traefik's whole directory. */
  async #validateDirectory(known: KnownObjects): Promise<FileValidation[]> {
    const results: FileValidation[] = [];
    for (const f of await this.#files.list()) {
      const r = validateDocument(f.content, { known });
      results.push({ file: f.file, managed: true, valid: r.valid, errors: r.errors, warnings: r.warnings });
    }
    for (const name of await this.#files.unmanagedConfigFiles()) {
      if (name.toLowerCase().endsWith(".toml")) continue;
      const content = await readFile(join(this.#files.dir, name), "utf8");
      // Unmanaged files are checked for syntax and shape only: their references may point anywhere.
      const r = validateDocument(content);
      results.push({ file: name, managed: false, valid: r.valid, errors: r.errors, warnings: r.warnings });
    }
    return results;
  }
}
