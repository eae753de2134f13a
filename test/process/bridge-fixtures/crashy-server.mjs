/* global process, console */
// A minimal stdio MCP server for bridge tests. Tool "hang" never answers;
// tool "crash" exits the process (code 3) without answering. With
// CRASH_ON_START=1 the process dies before answering initialize.
import { createInterface } from "node:readline";
import { answerToolsRequest, send } from "./stdio.mjs";

if (process.env.CRASH_ON_START === "1") {
  console.error("crashing on start, as asked");
  process.exit(4);
}

const tools = [
  {
    name: "echo",
    description: "echoes",
    inputSchema: { type: "object", properties: { text: { type: "string" } } },
  },
  { name: "hang", description: "never answers", inputSchema: { type: "object" } },
  { name: "crash", description: "exits without answering", inputSchema: { type: "object" } },
];

console.error(`crashy server started (pid ${process.pid})`);
function call(message) {
  if (message.params.name === "crash") {
    console.error("crashing, as asked");
    process.exit(3);
  }
  if (message.params.name === "hang") return;
  send({
    id: message.id,
    result: { content: [{ type: "text", text: `echo: ${message.params.arguments?.text}` }] },
  });
}

createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) return;
  answerToolsRequest(message, "crashy", tools, call);
});
