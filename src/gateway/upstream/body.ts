/**
 * A shard's response body read whole, held to a byte limit while it arrives.
 * Read with 'data' events rather than `for await`: a stream's async iterator
 * costs a promise per chunk, end-of-stream listeners and ~2 KiB of garbage per
 * response, on every call through the gateway.
 */
import type { Readable } from "node:stream";

/**
 * The body's bytes; undefined (the body destroyed) once more than `limit`
 * bytes arrived. Rejects when the stream fails or closes before its end.
 */
export function readBody(body: Readable, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", onError);
      body.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      done();
      body.destroy();
      resolve(undefined);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const onClose = () => {
      done();
      reject(new Error("the response stream closed before its end"));
    };
    body.on("data", onData);
    body.on("end", onEnd);
    body.on("error", onError);
    body.on("close", onClose);
  });
}
