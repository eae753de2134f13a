/**
 * `shardgate new-shard`: copies templates/shard/files into a new directory,
 * filling `{{placeholders}}`. The generated project depends on the shard kit
 * through a `file:` link to a shardgate checkout (nothing is published to npm),
 * or on a version when `kit` is one.
 */
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Shard names become npm package names, Kubernetes object names and tool prefixes. */
export const SHARD_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

export const KIT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TEMPLATE_DIR = join(KIT_ROOT, "templates", "shard", "files");

export interface ScaffoldOptions {
  /** Lower-case DNS label, 2-32 characters (SHARD_NAME_PATTERN). */
  readonly name: string;
  /** Target directory; must not exist or be empty. @default `./<name>` */
  readonly dir?: string;
  /**
   * The shard kit: a path to a shardgate checkout (linked with `file:`) or an
   * npm version range. @default this checkout
   */
  readonly kit?: string;
}

export interface ScaffoldResult {
  readonly dir: string;
  /** Paths relative to `dir`. */
  readonly files: readonly string[];
}

/** Replaces `{{key}}`; an unknown key is a template bug, so it throws. */
export function renderTemplate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new Error(`template uses unknown placeholder {{${key}}}`);
    return value;
  });
}

/** `file:` + a path relative to the project for a directory, else the value as a version. */
export function kitDependency(kit: string, projectDir: string): string {
  const looksLikePath = kit.startsWith(".") || kit.startsWith("/") || isAbsolute(kit);
  if (!looksLikePath) return kit;
  const rel = relative(projectDir, resolve(kit)) || ".";
  return `file:${rel.split("\\").join("/")}`;
}

/** `_gitignore` -> `.gitignore`: npm drops dotfiles named .gitignore from packages. */
function targetName(templatePath: string): string {
  return templatePath.replace(/(^|\/)_(gitignore|dockerignore)$/, "$1.$2");
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, path)));
    else files.push(path);
  }
  return files.sort();
}

async function kitVersions(): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(join(KIT_ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const all = { ...pkg.devDependencies, ...pkg.dependencies };
  const pick = (name: string) => {
    const version = all[name];
    if (!version) throw new Error(`shardgate's package.json lacks ${name}`);
    return version;
  };
  return {
    zodVersion: pick("zod"),
    sdkVersion: pick("@modelcontextprotocol/sdk"),
    typesNodeVersion: pick("@types/node"),
    typescriptVersion: pick("typescript"),
    vitestVersion: pick("vitest"),
  };
}

async function ensureEmpty(dir: string): Promise<void> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if ((await readdir(dir)).length > 0) throw new Error(`${dir} is not empty; choose another --dir`);
}

export async function scaffoldShard(options: ScaffoldOptions): Promise<ScaffoldResult> {
  if (!SHARD_NAME_PATTERN.test(options.name)) {
    throw new Error(
      `shard name ${JSON.stringify(options.name)} must be 2-32 lower-case letters, digits or '-', starting with a letter`,
    );
  }
  const dir = resolve(options.dir ?? options.name);
  await ensureEmpty(dir);
  const vars = {
    name: options.name,
    prefix: options.name.replace(/-/g, "_"),
    kitDependency: kitDependency(options.kit ?? KIT_ROOT, dir),
    ...(await kitVersions()),
  };
  const templates = await listFiles(TEMPLATE_DIR);
  const written: string[] = [];
  for (const path of templates) {
    const target = targetName(path);
    const text = renderTemplate(await readFile(join(TEMPLATE_DIR, path), "utf8"), vars);
    await mkdir(dirname(join(dir, target)), { recursive: true });
    await writeFile(join(dir, target), text);
    written.push(target);
  }
  return { dir, files: written };
}
