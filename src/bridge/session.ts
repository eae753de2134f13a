import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";

/** One downstream session; sends never throw (a closed client just misses the message). */
export class BridgeSession {
  readonly #transport: Transport;
  /** What the client declared in its `initialize`; unknown for stateless requests. */
  clientCapabilities: Record<string, unknown> | undefined;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** False when the transport refused the message (the client went away). */
  async send(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<boolean> {
    try {
      await this.#transport.send(message, relatedRequestId !== undefined ? { relatedRequestId } : undefined);
      return true;
    } catch {
      return false;
    }
  }

  /** Answers request `id` with an error. */
  async fail(id: RequestId, error: { code: number; message: string }): Promise<boolean> {
    return this.send({ jsonrpc: "2.0", id, error }, id);
  }
}
