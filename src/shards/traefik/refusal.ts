/**
 * The one base class of everything the shard refuses on purpose (a bad name,
 * a route it does not own, an invalid document, a probe that would leave the
 * backend): tools.ts turns a Refusal into an MCP error result the model can
 * act on, with its details; any other error is a fault and propagates.
 */
export class Refusal extends Error {
  override name = "Refusal";
  readonly details: Record<string, unknown>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.details = details;
  }
}

/** A refusal of the operations themselves (wrong mode, invalid document, nothing to delete). */
export class ToolFailure extends Refusal {
  override name = "ToolFailure";
}
