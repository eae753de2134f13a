/**
 * Reading one container's log through GET /containers/{id}/logs: the stream
 * decoded (multiplexed frames, or raw for a TTY container) into lines, with
 * a byte budget so no log is ever buffered whole.
 */
import type { DockerApi, Query } from "./client.ts";
import { messageOf } from "../../../util/index.ts";
import { DockerStreamError, FrameDecoder, LineSplitter, type Frame, type RawLine } from "./frames.ts";

export interface LogContainer {
  readonly id: string;
  readonly name: string;
  /** A TTY container's log is raw bytes, not multiplexed frames. */
  readonly tty: boolean;
}

export interface LogWindow {
  /** The last N lines (Docker's `tail`). */
  readonly tail?: number;
  /** ISO 8601. */
  readonly since?: string;
  /** ISO 8601. */
  readonly until?: string;
}

/** ISO 8601 → Docker's `since`/`until` (Unix seconds with a fraction). */
export function dockerTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 time: ${iso}`);
  const seconds = Math.floor(ms / 1000);
  return `${seconds}.${String(ms - seconds * 1000).padStart(3, "0")}000000`;
}

function windowQuery(window: LogWindow): Query {
  return {
    stdout: 1,
    stderr: 1,
    timestamps: 1,
    tail: window.tail ?? "all",
    since: window.since === undefined ? undefined : dockerTime(window.since),
    until: window.until === undefined ? undefined : dockerTime(window.until),
  };
}

export interface ScanResult {
  /** True when the byte budget stopped the read before the log's end. */
  readonly cut: boolean;
  /** True when a line was longer than the budget and cut short. */
  readonly lineTruncated: boolean;
}

export interface ScanBudget {
  /** Stop reading after this many bytes of the stream. */
  readonly readBytes: number;
  /** Cut any one line to this many bytes. */
  readonly lineBytes: number;
}

/**
 * Streams a container's log window to `onLine`, oldest first, until the log
 * ends, `onLine` returns false, or `budget.readBytes` have been read.
 */
export async function scanLog(
  api: DockerApi,
  container: LogContainer,
  window: LogWindow,
  budget: ScanBudget,
  onLine: (line: RawLine) => boolean,
  signal: AbortSignal,
): Promise<ScanResult> {
  const res = await api.getStream(`/containers/${container.id}/logs`, windowQuery(window), signal);
  const decoder = container.tty ? undefined : new FrameDecoder();
  const splitter = new LineSplitter(!container.tty, budget.lineBytes);
  const maxBytes = budget.readBytes;
  let bytes = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      const frames: Frame[] = decoder ? decoder.push(chunk) : [{ stream: "stdout", payload: chunk }];
      for (const frame of frames) {
        for (const line of splitter.push(frame.stream, frame.payload)) {
          if (!onLine(line)) return { cut: false, lineTruncated: splitter.truncated };
        }
      }
      if (bytes >= maxBytes) return { cut: true, lineTruncated: splitter.truncated };
    }
  } catch (error) {
    if (signal.aborted || error instanceof DockerStreamError) throw error;
    // The request's own timeout, or the proxy hung up mid-stream.
    throw new Error(
      `reading the log of ${container.name} from ${api.display} failed after ${bytes} bytes: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    res.destroy();
  }
  for (const line of splitter.flush()) {
    if (!onLine(line)) break;
  }
  return { cut: false, lineTruncated: splitter.truncated };
}

/**
 * The newest lines of a window that fit in `maxBytes` of text: older lines
 * are dropped as newer ones arrive (`cut` then says so). Docker's `tail`
 * already bounds the line count; this bounds the bytes.
 */
export async function tailLog(
  api: DockerApi,
  container: LogContainer,
  window: LogWindow,
  maxBytes: number,
  signal: AbortSignal,
): Promise<{ lines: RawLine[]; cut: boolean }> {
  const lines: RawLine[] = [];
  let bytes = 0;
  let dropped = false;
  // The whole window is read (Docker's `tail` bounds its lines), but only
  // the newest maxBytes of it are ever held.
  const scan = await scanLog(
    api,
    container,
    window,
    { readBytes: Number.POSITIVE_INFINITY, lineBytes: maxBytes },
    (line) => {
      lines.push(line);
      bytes += Buffer.byteLength(line.text) + 1;
      while (bytes > maxBytes && lines.length > 1) {
        const oldest = lines.shift();
        bytes -= Buffer.byteLength(oldest?.text ?? "") + 1;
        dropped = true;
      }
      return true;
    },
    signal,
  );
  return { lines, cut: dropped || scan.lineTruncated };
}
