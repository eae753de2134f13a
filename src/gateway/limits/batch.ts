/**
 * JSON-RPC batches (protocol 2025-03-26 and legacy SSE) are capped in size:
 * one sub-megabyte POST used to fan out to 5,000 upstream calls.
 */
export const DEFAULT_MAX_BATCH = 64;

/** The clear error for a batch over the cap, or undefined when it fits. */
export function batchTooLarge(size: number, max: number = DEFAULT_MAX_BATCH): string | undefined {
  return size > max
    ? `Invalid Request: a batch of ${size} messages is over the limit of ${max}; send fewer per request`
    : undefined;
}
