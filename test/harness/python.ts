/**
 * Python with pinned packages, for tests that drive real Python clients (the
 * `mcp` SDK that Open WebUI uses, fastmcp, ...). One virtualenv per set of
 * pins and Python version, cached under `~/.cache/shardgate/python/<key>`
 * like the other test binaries: the key is a hash of the interpreter's
 * version and the sorted requirement strings, so a changed pin builds a new
 * venv and an unchanged one costs nothing. Built on first use (atomically:
 * into a temp dir, then renamed) or ahead of time by `make test-deps`
 * (`node test/harness/python.ts`, which builds the sets named in PYTHON_SETS).
 * PyPI is reached through pip, as usual.
 *
 *   const py = await pythonWith([PYTHON_MCP]);
 *   await execFile(py.python, [script, url]);
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The Python MCP SDK at the version Open WebUI pins (its pyproject.toml: mcp==1.27.2). */
export const PYTHON_MCP = "mcp==1.27.2";
/** The Python MCP SDK's 2.x line (2026-07-28; its client refuses SSE events over 1 MiB). */
export const PYTHON_MCP_2 = "mcp==2.3.0";

/** The sets `make test-deps` builds ahead of time; add one here when a test needs new pins. */
export const PYTHON_SETS: readonly (readonly string[])[] = [[PYTHON_MCP], [PYTHON_MCP_2]];

export interface PythonEnv {
  /** The venv's interpreter. */
  readonly python: string;
  readonly dir: string;
}

/** The interpreter venvs are made from: $SHARDGATE_PYTHON or python3. */
function basePython(): string {
  return process.env.SHARDGATE_PYTHON ?? "python3";
}

export function pythonCacheDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cacheHome, "shardgate", "python");
}

async function baseVersion(): Promise<string> {
  try {
    const { stdout } = await run(basePython(), ["-c", "import sys; print(sys.version.split()[0])"]);
    return stdout.trim();
  } catch (error) {
    throw new Error(
      `${basePython()} not found: tests with Python clients need Python 3.10+ with venv (run \`make test-deps\`)`,
      { cause: error },
    );
  }
}

const building = new Map<string, Promise<PythonEnv>>();

/** A venv with exactly `packages` (pip requirement strings, pinned with ==), built once per key. */
export async function pythonWith(packages: readonly string[]): Promise<PythonEnv> {
  const unpinned = packages.filter((p) => !p.includes("=="));
  if (unpinned.length > 0) throw new Error(`pythonWith: pin every package with ==: ${unpinned.join(", ")}`);
  const version = await baseVersion();
  const pins = [...packages].sort();
  const key = createHash("sha256")
    .update(`${version}\n${pins.join("\n")}`)
    .digest("hex")
    .slice(0, 16);
  const dir = join(pythonCacheDir(), key);
  const env: PythonEnv = { python: join(dir, "bin", "python"), dir };
  if (existsSync(join(dir, "requirements.txt"))) return env;
  let pending = building.get(key);
  if (!pending) {
    pending = build(dir, pins).then(() => env);
    building.set(key, pending);
  }
  return pending;
}

async function build(dir: string, pins: readonly string[]): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(pythonCacheDir(), { recursive: true });
  const started = Date.now();
  try {
    await run(basePython(), ["-m", "venv", tmp]);
    await run(
      join(tmp, "bin", "python"),
      ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", ...pins],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(
      `could not build a Python venv with ${pins.join(" ")} (run \`make test-deps\`; needs PyPI): ${stderr.trim().slice(-2000)}`,
      { cause: error },
    );
  }
  // The marker written last: a venv without it was cut short and is rebuilt.
  await writeFile(join(tmp, "requirements.txt"), `${pins.join("\n")}\n`);
  // venvs hold their own path in scripts, not in the interpreter: bin/python works after the rename.
  await rename(tmp, dir).catch(async (error: unknown) => {
    // Another process built the same key first: keep theirs.
    await rm(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, "requirements.txt"))) throw error;
  });
  process.stderr.write(`[python] built venv ${dir} (${pins.join(" ")}) in ${Date.now() - started} ms\n`);
}

// `node test/harness/python.ts`: build every set the tests use (make test-deps).
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const set of PYTHON_SETS) {
    const env = await pythonWith(set);
    process.stdout.write(`${set.join(" ")}: ${env.python}\n`);
  }
}
