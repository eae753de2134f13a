/**
 * Cleanup: what a test (or a file's setup) pushes, or hands to `later`, is
 * undone after it, last first, whether it passed or failed; one failing
 * cleanup does not stop the others.
 */
import { afterAll, afterEach } from "vitest";

export interface Cleanup {
  /** Undone after each test, last first (errors ignored). */
  readonly cleanup: (() => Promise<unknown>)[];
  /** Closes `thing` after the test; returns it. */
  later<T extends { close(): Promise<unknown> }>(this: void, thing: T): T;
}

/** Registers the afterEach; call once at a test file's top level. */
export function cleanupAfterEach(): Cleanup {
  return cleanupAfter(afterEach);
}

/** The same for what a file (or describe) starts once: undone after all its tests, last first. */
export function cleanupAfterAll(): Cleanup {
  return cleanupAfter(afterAll);
}

function cleanupAfter(hook: (fn: () => Promise<void>) => void): Cleanup {
  const cleanup: (() => Promise<unknown>)[] = [];
  hook(async () => {
    while (cleanup.length > 0)
      await cleanup
        .pop()?.()
        .catch(() => undefined);
  });
  return {
    cleanup,
    later(thing) {
      cleanup.push(() => thing.close());
      return thing;
    },
  };
}
