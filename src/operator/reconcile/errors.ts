/** Errors of the reconcile, and how their messages read in status. */

/** A child of the shard's name exists and someone else controls it: status says so, no retry storm. */
export class ChildConflictError extends Error {
  override name = "ChildConflictError";
}

export { messageOf } from "../../util/index.ts";
