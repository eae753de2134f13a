import type { Logger } from "../log.ts";

/**
 * Runs `stop` on the first SIGTERM or SIGINT and exits 0 when it is done (1 if
 * it failed); a second signal exits 1 at once, work in flight or not.
 */
export function exitOnStopSignals(stop: () => Promise<unknown>, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
