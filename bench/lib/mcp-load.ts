/**
 * A load client for MCP over Streamable HTTP that costs as little as we can
 * make it (undici, keep-alive, bodies written as text, answers checked by a
 * substring), so the figures are the server's and not the client's. It speaks
 * a 2025-11-25 session (initialize, Mcp-Session-Id, DELETE) and 2026-07-28
 * stateless (the `_meta` envelope and the Mcp-Method / Mcp-Name headers).
 */
import { Agent, request } from "undici";

export type Era = "2025" | "2026";

const META = "io.modelcontextprotocol/";
const ENVELOPE = JSON.stringify({
  [`${META}protocolVersion`]: "2026-07-28",
  [`${META}clientInfo`]: { name: "bench", version: "1" },
  [`${META}clientCapabilities`]: {},
});
const ACCEPT = "application/json, text/event-stream";

export class McpLoadClient {
  readonly #url: string;
  readonly #era: Era;
  readonly #agent: Agent;
  #session: string | undefined;
  #id = 0;

  constructor(url: string, era: Era, connections = 64) {
    this.#url = url;
    this.#era = era;
    this.#agent = new Agent({ connections, keepAliveTimeout: 30_000 });
  }

  /** A 2025 session (initialize + initialized); nothing for 2026-07-28. */
  async open(): Promise<void> {
    if (this.#era === "2026") return;
    const init = await request(this.#url, {
      method: "POST",
      dispatcher: this.#agent,
      headers: { "content-type": "application/json", accept: ACCEPT },
      body: `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`,
    });
    const text = await init.body.text();
    const session = init.headers["mcp-session-id"];
    if (init.statusCode !== 200 || typeof session !== "string")
      throw new Error(`initialize at ${this.#url}: HTTP ${init.statusCode} ${text.slice(0, 200)}`);
    this.#session = session;
    await this.#post('{"jsonrpc":"2.0","method":"notifications/initialized"}', "notifications/initialized");
  }

  /** DELETE of the 2025 session. */
  async close(): Promise<void> {
    if (this.#session !== undefined) {
      const res = await request(this.#url, {
        method: "DELETE",
        dispatcher: this.#agent,
        headers: { "mcp-session-id": this.#session, "mcp-protocol-version": "2025-11-25" },
      });
      await res.body.dump();
      this.#session = undefined;
    }
  }

  async destroy(): Promise<void> {
    await this.close().catch(() => undefined);
    await this.#agent.close();
  }

  #headers(method: string, name?: string): Record<string, string> {
    if (this.#era === "2025")
      return {
        "content-type": "application/json",
        accept: ACCEPT,
        "mcp-protocol-version": "2025-11-25",
        ...(this.#session ? { "mcp-session-id": this.#session } : {}),
      };
    return {
      "content-type": "application/json",
      accept: ACCEPT,
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": method,
      ...(name ? { "mcp-name": name } : {}),
    };
  }

  async #post(body: string, method: string, name?: string): Promise<string> {
    const res = await request(this.#url, {
      method: "POST",
      dispatcher: this.#agent,
      headers: this.#headers(method, name),
      body,
    });
    const text = await res.body.text();
    if (res.statusCode >= 300 && !(res.statusCode === 202 && text === ""))
      throw new Error(`${method}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
    return text;
  }

  #params(params: string): string {
    if (this.#era === "2025") return params;
    return params === "{}" ? `{"_meta":${ENVELOPE}}` : `${params.slice(0, -1)},"_meta":${ENVELOPE}}`;
  }

  /** tools/call of `tool` with {text}; throws unless the answer is a result that is not an error. */
  async call(tool: string, text: string): Promise<string> {
    const params = this.#params(
      `{"name":${JSON.stringify(tool)},"arguments":{"text":${JSON.stringify(text)}}}`,
    );
    const answer = await this.#post(
      `{"jsonrpc":"2.0","id":${++this.#id},"method":"tools/call","params":${params}}`,
      "tools/call",
      tool,
    );
    if (!answer.includes('"result"') || answer.includes('"isError":true'))
      throw new Error(`tools/call ${tool}: ${answer.slice(0, 300)}`);
    return answer;
  }

  /** tools/list; the names of the tools. */
  async list(): Promise<string[]> {
    const answer = await this.#post(
      `{"jsonrpc":"2.0","id":${++this.#id},"method":"tools/list","params":${this.#params("{}")}}`,
      "tools/list",
    );
    const parsed = JSON.parse(answer) as { result?: { tools?: { name: string }[] } };
    if (!parsed.result?.tools) throw new Error(`tools/list: ${answer.slice(0, 300)}`);
    return parsed.result.tools.map((t) => t.name);
  }
}

/**
 * Open WebUI's pattern for each chat turn that uses a tool: a new session,
 * list, call, end the session (2025-11-25). Returns when the DELETE is answered.
 */
export async function openWebUiCycle(client: McpLoadClient, tool: string): Promise<void> {
  await client.open();
  await client.list();
  await client.call(tool, "ping");
  await client.close();
}
