/**
 * A scratch directory for a test file (or for each test), made before and
 * removed after, whether the tests passed or not. Register it before the
 * hooks that use it: after-hooks run last first, so it outlives them.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

export interface ScratchDir {
  /** The directory; readable in hooks and tests, not at collection time. */
  readonly path: string;
}

/** A fresh `<tmp>/<prefix>-XXXXXX` for the enclosing file or describe (`scope` "all") or each of its tests. */
export function useScratchDir(prefix: string, scope: "all" | "each" = "all"): ScratchDir {
  let path: string | undefined;
  const make = async () => {
    path = await mkdtemp(join(tmpdir(), `${prefix}-`));
  };
  const remove = async () => {
    if (path) await rm(path, { recursive: true, force: true });
    path = undefined;
  };
  if (scope === "each") {
    beforeEach(make);
    afterEach(remove);
  } else {
    beforeAll(make);
    afterAll(remove);
  }
  return {
    get path() {
      if (!path) throw new Error(`the ${prefix} scratch directory is used outside its tests`);
      return path;
    },
  };
}
