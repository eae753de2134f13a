/** Tool calls, newest last, in a bounded ring; argument names only, never values. */
export interface ActivityEntry {
  readonly time: string;
  readonly key: string;
  readonly tool: string;
  readonly shard: string;
  readonly durationMs: number;
  readonly outcome: "ok" | "tool_error" | "error";
  readonly error?: string;
  readonly argumentNames: readonly string[];
  /** What spec.policy.secretScan found and did, e.g. "result redacted (@secretlint/secretlint-rule-github)". */
  readonly secretScan?: string;
}

export interface ActivityQuery {
  readonly tool?: string;
  readonly shard?: string;
  readonly outcome?: string;
  /** RFC 3339; entries at or after. */
  readonly since?: string;
  /** @default 100 */
  readonly limit?: number;
}

export class ActivityLog {
  #ring: (ActivityEntry | undefined)[];
  #next = 0;
  #count = 0;

  constructor(capacity = 1000) {
    this.#ring = new Array<ActivityEntry | undefined>(Math.max(1, capacity));
  }

  add(entry: ActivityEntry): void {
    this.#ring[this.#next] = entry;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#count = Math.min(this.#count + 1, this.#ring.length);
  }

  /** Newest first. */
  query(q: ActivityQuery = {}): ActivityEntry[] {
    const since = q.since ? Date.parse(q.since) : undefined;
    const limit = q.limit ?? 100;
    const out: ActivityEntry[] = [];
    for (let i = 1; i <= this.#count && out.length < limit; i++) {
      const e = this.#ring[(this.#next - i + this.#ring.length) % this.#ring.length];
      if (!e) continue;
      if (q.tool && e.tool !== q.tool) continue;
      if (q.shard && e.shard !== q.shard) continue;
      if (q.outcome && e.outcome !== q.outcome) continue;
      if (since !== undefined && Date.parse(e.time) < since) continue;
      out.push(e);
    }
    return out;
  }
}
