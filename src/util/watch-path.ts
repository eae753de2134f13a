/**
 * Calls `onChange` (debounced) when a file or a directory's files change.
 * Watches the folder that holds the path: editors and Kubernetes volume
 * mounts replace files (ConfigMaps and Secrets swap a `..data` symlink)
 * rather than write into them, which a watch on the file itself misses.
 */
import { watch, type FSWatcher } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname } from "node:path";

export interface PathWatch {
  close(): void;
}

export async function watchPath(
  path: string,
  onChange: () => void,
  opts: { readonly debounceMs?: number; readonly onError?: (error: Error) => void } = {},
): Promise<PathWatch> {
  const isDir = (await stat(path)).isDirectory();
  const folder = isDir ? path : dirname(path);
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(folder, (_event, changed) => {
    if (!isDir && changed && changed !== name && !changed.startsWith("..")) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, opts.debounceMs ?? 200);
  });
  watcher.on("error", (error) => opts.onError?.(error));
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
