/** The gateway URL as users write it, made into the MCP endpoint `shardgate connect` talks to. */

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/**
 * `https://mcp.example.lan` and `https://mcp.example.lan/` mean its `/mcp`;
 * any other path is taken as the endpoint itself (a gateway behind a path
 * prefix). Only http and https; no credentials in the URL (they would end
 * up in logs and in the process list).
 */
export function gatewayEndpoint(input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new Error(`gateway URL ${JSON.stringify(input)} is not a URL (example: https://mcp.example.lan)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`gateway URL ${input}: only http and https are supported (got ${url.protocol})`);
  }
  if (url.username || url.password) {
    throw new Error(
      `gateway URL ${url.host}: put the API key in SHARDGATE_API_KEY or --api-key-file, not in the URL`,
    );
  }
  url.hash = "";
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/mcp";
  return url;
}

/** Plain http to another machine: a key or token would cross the network readable by anyone on the path. */
export function isCleartextRemote(url: URL): boolean {
  return url.protocol === "http:" && !LOOPBACK.test(url.hostname);
}
