/**
 * Per-test cleanup: what a test pushes (or hands to `later`) is undone after
 * it, last first, whether it passed or failed; one failing cleanup does not
 * stop the others.
 */
import { afterEach } from "vitest";

export interface Cleanup {
  /** Undone after each test, last first (errors ignored). */
  readonly cleanup: (() => Promise<unknown>)[];
  /** Closes `thing` after the test; returns it. */
  later<T extends { close(): Promise<unknown> }>(this: void, thing: T): T;
}

/** Registers the afterEach; call once at a test file's top level. */
export function cleanupAfterEach(): Cleanup {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
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
