/**
 * An incremental Server-Sent Events parser over raw bytes that bounds memory:
 * an event whose data grows past `maxEventBytes` is reported before more of
 * it is held, so a huge or endless event from a shard costs at most the limit.
 * Lines end in LF or CRLF (what MCP servers send; a lone CR is not a line end).
 */

export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

export interface SseParserOptions {
  /** Largest data of one event, in bytes (UTF-8, data lines joined by LF). */
  readonly maxEventBytes: number;
  readonly onEvent: (event: SseEvent) => void;
  /** The current event went over maxEventBytes; the parser stops. */
  readonly onOversize: () => void;
}

const LF = 0x0a;
const CR = 0x0d;

export class SseParser {
  #opts: SseParserOptions;
  /** Pieces of the line not yet ended. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #event = "";
  #data: string[] = [];
  #dataBytes = 0;
  #stopped = false;

  constructor(options: SseParserOptions) {
    this.#opts = options;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (!this.#stopped) {
      const end = chunk.indexOf(LF, start);
      if (end < 0) {
        if (start < chunk.length) {
          this.#partial.push(chunk.subarray(start));
          this.#partialBytes += chunk.length - start;
          if (this.#dataBytes + this.#partialBytes > this.#opts.maxEventBytes + 8) this.#oversize();
        }
        return;
      }
      let line: Buffer;
      if (this.#partial.length === 0) line = chunk.subarray(start, end);
      else {
        this.#partial.push(chunk.subarray(start, end));
        line = Buffer.concat(this.#partial);
        this.#partial = [];
        this.#partialBytes = 0;
      }
      start = end + 1;
      this.#line(line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, -1) : line);
    }
  }

  #oversize(): void {
    this.#stopped = true;
    this.#partial = [];
    this.#data = [];
    this.#opts.onOversize();
  }

  #line(line: Buffer): void {
    if (line.length === 0) {
      if (this.#data.length > 0) {
        const data = this.#data.length === 1 ? this.#data[0]! : this.#data.join("\n");
        const event = this.#event || "message";
        this.#data = [];
        this.#dataBytes = 0;
        this.#event = "";
        this.#opts.onEvent({ event, data });
      } else this.#event = "";
      return;
    }
    if (line[0] === 0x3a) return; // ":" comment (keep-alive)
    const text = line.toString("utf8");
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    const space = value.startsWith(" ");
    if (space) value = value.slice(1);
    if (field === "data") {
      // The field name is ASCII, so its length in characters is its length in bytes.
      const valueBytes = colon < 0 ? 0 : line.length - colon - 1 - (space ? 1 : 0);
      this.#dataBytes += valueBytes + (this.#data.length > 0 ? 1 : 0);
      if (this.#dataBytes > this.#opts.maxEventBytes) {
        this.#oversize();
        return;
      }
      this.#data.push(value);
    } else if (field === "event") this.#event = value;
    // id and retry are not used: the gateway does not resume streams.
  }
}
