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

/**
 * Answers a request to a tools-only server `name`: initialize, tools/list with
 * `tools`, tools/call through `call(message)`; any other method gets -32601.
 */
export function answerToolsRequest(message, name, tools, call) {
  switch (message.method) {
    case "initialize":
      return answerInitialize(message, name);
    case "tools/list":
      return send({ id: message.id, result: { tools } });
    case "tools/call":
      return call(message);
    default:
      return send({ id: message.id, error: { code: -32601, message: `no method ${message.method}` } });
  }
}
