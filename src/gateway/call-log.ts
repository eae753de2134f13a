/**
 * The per-call info line ("tool call"). The activity log records every call;
 * this line is for whoever reads the process log, and writing one per call
 * cost about 8 % of the gateway's CPU under load (pino serialising, the
 * secret mask, the write). `--call-log`:
 *  - `all`: a line per call (the old behaviour);
 *  - `sampled` (default): every call that failed, and for successful calls at
 *    most one line per tool per `intervalMs`, carrying how many calls it stands
 *    for (`calls`), so the log shows the traffic at a cost that does not grow
 *    with it;
 *  - `errors`: failed calls only.
 * The logger itself writes asynchronously (pino's sonic-boom, never a
 * synchronous write on the call path).
 */
import type { Logger } from "../log.ts";

export const CALL_LOG_MODES = ["all", "sampled", "errors"] as const;
export type CallLogMode = (typeof CALL_LOG_MODES)[number];

export interface CallLine {
  readonly key: string;
  readonly tool: string;
  readonly shard: string;
  readonly durationMs: number;
  readonly outcome: "ok" | "tool_error" | "error";
  readonly error?: string;
  readonly argumentNames: readonly string[];
  readonly audit?: boolean;
}

/** Tools remembered for sampling before the table starts over (a bound, not a working size). */
const MAX_TOOLS = 10_000;

export class CallLog {
  readonly #logger: Logger;
  readonly #mode: CallLogMode;
  readonly #intervalMs: number;
  /** Per tool: when its last ok line went out, and the ok calls since then. */
  readonly #sampled = new Map<string, { at: number; calls: number }>();

  constructor(logger: Logger, mode: CallLogMode = "sampled", intervalMs = 1000) {
    this.#logger = logger;
    this.#mode = mode;
    this.#intervalMs = intervalMs;
  }

  record(line: CallLine): void {
    if (line.outcome !== "ok" || line.audit || this.#mode === "all") {
      this.#logger.info({ activity: line }, "tool call");
      return;
    }
    if (this.#mode === "errors") return;
    const now = Date.now();
    let slot = this.#sampled.get(line.tool);
    if (!slot) {
      if (this.#sampled.size >= MAX_TOOLS) this.#sampled.clear();
      slot = { at: -Infinity, calls: 0 };
      this.#sampled.set(line.tool, slot);
    }
    slot.calls++;
    if (now - slot.at < this.#intervalMs) return;
    this.#logger.info({ activity: line, calls: slot.calls }, "tool call");
    slot.at = now;
    slot.calls = 0;
  }
}
