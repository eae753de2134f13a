/* global process */
// A minimal stdio MCP server that asks its client for roots/list: once right
// after initialization (when the bridge has no client yet), and from tool
// "list-roots". Its request ids are strings ("server-1", ...), so a bridge that
// answers under any other id leaves the tool call hanging. Tool "last-roots"
// reports how the most recent roots/list ended.
import { createInterface } from "node:readline";
import { answerToolsRequest, send } from "./stdio.mjs";

const tools = [
  { name: "list-roots", description: "asks the client for its roots", inputSchema: { type: "object" } },
  { name: "last-roots", description: "how the last roots/list ended", inputSchema: { type: "object" } },
];

let nextId = 1;
/** Our requests to the client, by id: what to do with the answer. */
const waiting = new Map();
let last = { pending: true };

function askRoots(then) {
  const id = `server-${nextId++}`;
  last = { pending: true, id };
  waiting.set(id, (answer) => {
    last = { id, ...answer };
    then?.(last);
  });
  send({ id, method: "roots/list" });
}

const text = (value) => ({ content: [{ type: "text", text: JSON.stringify(value) }] });

createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line);
  if (message.method === undefined) {
    // An answer to one of our requests; anything under another id is lost.
    const done = waiting.get(message.id);
    waiting.delete(message.id);
    done?.(message.error ? { error: message.error } : { result: message.result });
    return;
  }
  if (message.method === "notifications/initialized") return askRoots();
  if (message.method === "notifications/cancelled") {
    // The bridge calls off a tool call whose client went away; nothing to stop here.
    return;
  }
  if (message.id === undefined) return;
  answerToolsRequest(message, "roots-asker", tools, (call) => {
    if (call.params.name === "last-roots") return send({ id: call.id, result: text(last) });
    askRoots((answer) => send({ id: call.id, result: text(answer) }));
  });
});
