/**
 * Newline-delimited input with a bound on each line, so a child process can
 * never make the bridge hold more than `maxLineBytes` of one line: a longer
 * line is dropped as it arrives (only its first and last bytes are kept, for
 * the caller's error), and the next newline starts afresh. Chunks are kept as
 * a list and joined once per line: the SDK's ReadBuffer concatenated on every
 * chunk, which copied a 12 MB line about 200 times.
 */

/** What is kept of a line that was too long: enough to find its JSON-RPC id. */
export interface OversizedLine {
  /** Bytes the line had (so far, when the stream ended inside it). */
  readonly bytes: number;
  /** Its first bytes (at most `EDGE_BYTES`), as text. */
  readonly head: string;
  /** Its last bytes (at most `EDGE_BYTES`), as text. */
  readonly tail: string;
}

export interface LineSplitterOptions {
  readonly maxLineBytes: number;
  readonly onLine: (line: string) => void;
  readonly onOversized: (line: OversizedLine) => void;
}

/** How much of an oversized line's start and end is kept. */
export const EDGE_BYTES = 512;

/** The leading chunks that hold the first EDGE_BYTES. */
function firstBytes(chunks: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let size = 0;
  for (const chunk of chunks) {
    if (size >= EDGE_BYTES) break;
    out.push(chunk);
    size += chunk.length;
  }
  return out;
}

export class LineSplitter {
  readonly #options: LineSplitterOptions;
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** Set while dropping a line that went over the limit. */
  #head: Buffer | undefined;
  #tail: Buffer = Buffer.alloc(0);

  constructor(options: LineSplitterOptions) {
    this.#options = options;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) {
        this.#add(chunk.subarray(start));
        return;
      }
      this.#add(chunk.subarray(start, newline));
      this.#endLine();
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without newline still counts. */
  end(): void {
    if (this.#bytes > 0) this.#endLine();
  }

  #add(part: Buffer): void {
    if (part.length === 0) return;
    this.#bytes += part.length;
    if (this.#head === undefined && this.#bytes <= this.#options.maxLineBytes) {
      this.#chunks.push(part);
      return;
    }
    if (this.#head === undefined) {
      // Just went over: keep the start, let the rest go.
      this.#head = Buffer.from(Buffer.concat(firstBytes([...this.#chunks, part])).subarray(0, EDGE_BYTES));
      this.#chunks = [];
    }
    const joined = this.#tail.length + part.length;
    this.#tail = Buffer.from(
      joined <= EDGE_BYTES
        ? Buffer.concat([this.#tail, part])
        : part.length >= EDGE_BYTES
          ? part.subarray(part.length - EDGE_BYTES)
          : Buffer.concat([this.#tail.subarray(joined - EDGE_BYTES), part]),
    );
  }

  #endLine(): void {
    const head = this.#head;
    const bytes = this.#bytes;
    const chunks = this.#chunks;
    const tail = this.#tail;
    this.#chunks = [];
    this.#bytes = 0;
    this.#head = undefined;
    this.#tail = Buffer.alloc(0);
    if (head !== undefined) {
      this.#options.onOversized({ bytes, head: head.toString("utf8"), tail: tail.toString("utf8") });
      return;
    }
    const line = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString("utf8");
    this.#options.onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  }
}

/**
 * The bridge's request id an oversized answer was for, when its edges show
 * it: `{"jsonrpc":"2.0","id":7,...` at the start or `..."id":7}` at the end
 * (the SDK's servers write `{result, jsonrpc, id}`). Undefined otherwise; the
 * request's timeout then answers its caller.
 */
export function idOfOversized(line: OversizedLine): number | undefined {
  const atStart = /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(\d+)\s*[,}]/.exec(line.head)?.[1];
  const atEnd = /[{,]\s*"id"\s*:\s*(\d+)\s*\}\s*$/.exec(line.tail)?.[1];
  const id = atStart ?? atEnd;
  return id === undefined ? undefined : Number(id);
}
