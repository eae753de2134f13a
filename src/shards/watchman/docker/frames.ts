/**
 * Docker's log stream. A container without a TTY answers
 * `GET /containers/{id}/logs` with a multiplexed stream: frames of an 8-byte
 * header (byte 0 the stream: 0 stdin, 1 stdout, 2 stderr, 3 the daemon's own
 * error; bytes 4..7 the payload length, big-endian) and the payload. A TTY
 * container's log is the raw bytes, with no headers at all. Chunks from the
 * socket cut frames anywhere, so both decoders keep state between pushes.
 */
import { splitTimestamped } from "../lines.ts";

export type StreamName = "stdout" | "stderr";

export interface Frame {
  readonly stream: StreamName;
  readonly payload: Buffer;
}

const HEADER_BYTES = 8;

/** The daemon reported an error in the stream itself (stream type 3). */
export class DockerStreamError extends Error {
  override readonly name = "DockerStreamError";
}

/** Incremental decoder of the multiplexed stream. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns the frames it completed. */
  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    let offset = 0;
    while (this.pending.length - offset >= HEADER_BYTES) {
      const type = this.pending[offset];
      // Checked before waiting for the payload: raw (TTY) bytes read as a
      // header would otherwise announce gigabytes and stall the read.
      if (type !== 0 && type !== 1 && type !== 2 && type !== 3) {
        throw new DockerStreamError(`not a Docker log stream: frame header with stream type ${String(type)}`);
      }
      const size = this.pending.readUInt32BE(offset + 4);
      if (this.pending.length - offset - HEADER_BYTES < size) break;
      const payload = this.pending.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + size);
      offset += HEADER_BYTES + size;
      if (type === 3) {
        throw new DockerStreamError(
          `Docker reported an error in the log stream: ${payload.toString("utf8").trim()}`,
        );
      }
      // stdin (0) only appears for attached streams; count it as stdout.
      frames.push({ stream: type === 2 ? "stderr" : "stdout", payload: Buffer.from(payload) });
    }
    this.pending = this.pending.subarray(offset);
    return frames;
  }

  /** Bytes of an unfinished frame left over (0 when the stream ended on a frame boundary). */
  get leftover(): number {
    return this.pending.length;
  }
}

export interface RawLine {
  readonly stream: StreamName;
  /** ISO 8601, when the line carried Docker's timestamp. */
  readonly timestamp?: string;
  readonly text: string;
}

/**
 * Payloads → lines, per stream. With `timestamps=1` Docker prefixes every log
 * message with an RFC 3339 stamp; the stamp is split off when a line is done.
 * In a multiplexed stream each frame is one message: a line longer than the
 * log driver's message size (16 KiB for json-file) arrives as several
 * messages, each with its own stamp, only the last ending in a newline, so a
 * continuation's stamp is dropped and the line comes out whole. A raw (TTY)
 * stream is bytes cut anywhere: its chunks are joined as they are.
 */
export class LineSplitter {
  private readonly open = new Map<StreamName, string>();
  private readonly framed: boolean;
  private readonly maxLineBytes: number;
  /** True once a line was cut to maxLineBytes. */
  truncated = false;

  /**
   * @param framed the payloads are whole messages (multiplexed stream), not arbitrary chunks (raw stream)
   * @param maxLineBytes caps a line being assembled; its end is dropped and `truncated` set
   */
  constructor(framed: boolean, maxLineBytes: number = Number.POSITIVE_INFINITY) {
    this.framed = framed;
    this.maxLineBytes = maxLineBytes;
  }

  push(stream: StreamName, payload: Buffer): RawLine[] {
    const lines: RawLine[] = [];
    let text = payload.toString("utf8");
    if (this.framed && this.open.has(stream)) text = splitTimestamped(text).text;
    let start = 0;
    while (start < text.length) {
      const newline = text.indexOf("\n", start);
      const piece = newline === -1 ? text.slice(start) : text.slice(start, newline);
      this.open.set(stream, this.cap((this.open.get(stream) ?? "") + piece));
      if (newline === -1) break;
      lines.push(finish(stream, this.open.get(stream) ?? ""));
      this.open.delete(stream);
      start = newline + 1;
    }
    return lines;
  }

  /** Lines left without a newline when the stream ended. */
  flush(): RawLine[] {
    const lines = [...this.open].map(([stream, line]) => finish(stream, line));
    this.open.clear();
    return lines;
  }

  private cap(text: string): string {
    if (text.length <= this.maxLineBytes || Buffer.byteLength(text) <= this.maxLineBytes) return text;
    this.truncated = true;
    return Buffer.from(text).subarray(0, this.maxLineBytes).toString("utf8");
  }
}

function finish(stream: StreamName, line: string): RawLine {
  const { timestamp, text } = splitTimestamped(line.endsWith("\r") ? line.slice(0, -1) : line);
  return { stream, ...(timestamp ? { timestamp } : {}), text };
}
