/* global process, console */
// A stdio MCP server that misbehaves on request, for the bridge's limits:
//  - big {bytes}: a valid result of about that many bytes, written the way
//    the SDK's servers write it ({result, jsonrpc, id}: the id comes last);
//  - hang: never answers (remembers the cancellations it receives);
//  - cancelled: lists the request ids the bridge cancelled so far;
//  - stderr_flood {mb}: that many MB on stderr without a newline, then answers;
//  - stdout_flood {mb}: that many MB of lines that are not JSON-RPC, then one
//    line of that size without a newline break before its end, then answers;
//  - echo {text}.
// It speaks both eras: `initialize` (2025) and `server/discover` (2026-07-28,
// so the bridge's 2026 relay runs its own copy of it too).
import { once } from "node:events";
import { createInterface } from "node:readline";

const cancelled = [];
const write = async (stream, data) => {
  if (!stream.write(data)) await once(stream, "drain");
};
const answer = (id, result) => write(process.stdout, JSON.stringify({ result, jsonrpc: "2.0", id }) + "\n");
const text = (t) => ({ content: [{ type: "text", text: t }] });
const tools = ["big", "hang", "cancelled", "stderr_flood", "stdout_flood", "echo"].map((name) => ({
  name,
  inputSchema: { type: "object" },
}));

async function flood(stream, mb, newlines) {
  const line = "x".repeat(1023) + (newlines ? "\n" : "x");
  const chunk = line.repeat(64); // 64 KiB
  for (let i = 0; i < mb * 16; i++) await write(stream, chunk);
}

async function call(id, name, args) {
  switch (name) {
    case "big":
      return answer(id, text("b".repeat(args.bytes)));
    case "hang":
      return;
    case "cancelled":
      return answer(id, text(JSON.stringify(cancelled)));
    case "stderr_flood":
      await flood(process.stderr, args.mb, false);
      await write(process.stderr, "\n");
      return answer(id, text("stderr flooded"));
    case "stdout_flood":
      await flood(process.stdout, args.mb, true);
      await flood(process.stdout, args.mb, false);
      await write(process.stdout, "\n");
      return answer(id, text("stdout flooded"));
    default:
      return answer(id, text(`echo: ${args.text}`));
  }
}

console.error(`hostile server started (pid ${process.pid})`);
createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line);
  if (message.method === "notifications/cancelled") cancelled.push(message.params.requestId);
  if (message.id === undefined) return;
  switch (message.method) {
    case "initialize":
      return answer(message.id, {
        protocolVersion: message.params.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: "hostile", version: "0.0.1" },
      });
    case "server/discover":
      return answer(message.id, {
        supportedVersions: ["2026-07-28"],
        capabilities: { tools: {} },
        _meta: { "io.modelcontextprotocol/serverInfo": { name: "hostile", version: "0.0.1" } },
      });
    case "tools/list":
      return answer(message.id, { tools });
    case "tools/call":
      return void call(message.id, message.params.name, message.params.arguments ?? {});
    default:
      return write(
        process.stdout,
        JSON.stringify({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "no" } }) + "\n",
      );
  }
});
