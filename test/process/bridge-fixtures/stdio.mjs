/* global process */
// What the stdio fixtures share: one JSON-RPC line out, and the answer to initialize.

export const send = (message) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n");

/** Answers initialize with the client's protocol version and a tools capability. */
export function answerInitialize(message, name) {
  send({
    id: message.id,
    result: {
      protocolVersion: message.params.protocolVersion,
      capabilities: { tools: {} },
      serverInfo: { name, version: "0.0.1" },
    },
  });
}
