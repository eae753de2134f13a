export { batchTooLarge, DEFAULT_MAX_BATCH } from "./batch.ts";
export { DEFAULT_MAX_DEPTH, exceedsDepth, guardIncomingDepth } from "./depth.ts";
export { InFlightLimits, type InFlightCaps } from "./inflight.ts";
