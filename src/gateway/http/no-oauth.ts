/**
 * API keys, not OAuth. MCP clients that support OAuth (mcp-remote, MCP
 * Inspector, the SDKs with an auth provider) answer a 401 by discovering an
 * authorization server: /.well-known/oauth-protected-resource and
 * /.well-known/oauth-authorization-server (404 here), then the default
 * endpoints at the server's origin, starting with dynamic client registration
 * at POST /register. Answering that with an OAuth error whose description says
 * what is wrong makes the client show "a valid API key is required" instead of
 * a failed registration (a 404 with no body).
 */
import type { FastifyInstance } from "fastify";

export const API_KEY_REQUIRED =
  "this gateway uses API keys, not OAuth: a valid API key is required (send Authorization: Bearer <key>)";

export function noOAuthRoutes(app: FastifyInstance): void {
  const refuse = { error: "invalid_client_metadata", error_description: API_KEY_REQUIRED };
  app.post("/register", async (_request, reply) => reply.code(400).send(refuse));
  app.post("/token", async (_request, reply) =>
    reply.code(400).send({ error: "invalid_request", error_description: API_KEY_REQUIRED }),
  );
  app.get("/authorize", async (_request, reply) => reply.code(400).type("text/plain").send(API_KEY_REQUIRED));
}
