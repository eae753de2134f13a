/**
 * The console at /ui: one static page plus its bundled script and stylesheet
 * (same origin, nothing from elsewhere, a strict Content-Security-Policy), the
 * sign-in session (/ui/session) and a server-sent event stream
 * (/ui/events) that pushes shard, tool and activity changes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ActivityLog } from "../activity.ts";
import type { CatalogueService } from "../catalogue/service.ts";
import type { Drain } from "../drain.ts";
import { authorize } from "../http/admin.ts";
import { signInBody } from "../http/admin-schemas.ts";
import { describeShards } from "../http/shard-view.ts";
import type { Registry } from "../registry/types.ts";
import type { Asset } from "./assets.ts";
import { htmlDocument } from "./html.ts";
import { oidcRoutes, SIGN_IN_URL } from "./oidc-routes.ts";
import { isSecureRequest, type ConsoleAuth } from "./session.ts";
import { clearSessionCookie, type ConsoleIdentity } from "./user-session.ts";

export interface ConsoleOptions {
  /** Loaded on first use. */
  readonly assets: () => Promise<ReadonlyMap<string, Asset>>;
  readonly auth: ConsoleAuth;
  readonly registry: Registry;
  readonly catalogue: CatalogueService;
  readonly activity: ActivityLog;
  readonly drain: Drain;
  /** How often the event stream looks for shard changes not signalled otherwise (last seen, errors). @default 2000 */
  readonly pollMs?: number;
  /** @default 15000 */
  readonly keepAliveMs?: number;
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header("content-security-policy", CONTENT_SECURITY_POLICY)
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer")
    .header("x-frame-options", "DENY");
}

function page(assets: ReadonlyMap<string, Asset>): string {
  const v = (name: string) => encodeURIComponent(assets.get(name)?.etag.replaceAll('"', "") ?? "");
  return htmlDocument(
    {
      title: "shardgate console",
      stylesheet: `/ui/assets/console.css?v=${v("console.css")}`,
      script: `/ui/assets/console.js?v=${v("console.js")}`,
    },
    '<main id="app" aria-live="polite"><p class="loading">Loading…</p></main>',
  );
}

export function consoleRoutes(app: FastifyInstance, opts: ConsoleOptions): void {
  const { auth } = opts;
  let html: string | undefined;

  const sendPage = async (_request: FastifyRequest, reply: FastifyReply) => {
    html ??= page(await opts.assets());
    return securityHeaders(reply)
      .header("cache-control", "no-cache")
      .type("text/html; charset=utf-8")
      .send(html);
  };
  app.get("/ui", sendPage);
  app.get("/ui/", sendPage);

  app.get<{ Params: { file: string } }>("/ui/assets/:file", async (request, reply) => {
    const asset = (await opts.assets()).get(request.params.file);
    if (!asset) return securityHeaders(reply).code(404).send({ error: "no such asset" });
    securityHeaders(reply).header("etag", asset.etag).header("cache-control", "public, max-age=300");
    if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });

  if (auth.oidc) oidcRoutes(app, auth, auth.oidc, securityHeaders);
  /** Shown on the sign-in page: the provider's button beside the key form. */
  const provider = auth.oidc ? { name: auth.oidc.providerName, signInUrl: SIGN_IN_URL } : undefined;

  const session = (
    principal: { id: string; admin: boolean },
    csrfBinding: string | undefined,
    identity?: ConsoleIdentity,
  ) => ({
    signedIn: true,
    id: principal.id,
    admin: principal.admin,
    authRequired: auth.required,
    csrf: auth.csrfToken(csrfBinding),
    ...(provider ? { provider } : {}),
    ...(identity
      ? {
          via: "provider",
          user: {
            subject: identity.subject,
            ...(identity.name ? { name: identity.name } : {}),
            ...(identity.email ? { email: identity.email } : {}),
            groups: identity.groups,
          },
          expiresAt: new Date(identity.exp * 1000).toISOString(),
        }
      : { via: csrfBinding ? "key" : "none" }),
  });

  app.get("/ui/session", async (request, reply) => {
    const result = auth.authenticate(request);
    // 200, not 401: "not signed in yet" is the sign-in page's normal state, not an error.
    if (!result.ok)
      return securityHeaders(reply).send({
        signedIn: false,
        authRequired: true,
        ...(provider ? { provider } : {}),
      });
    return securityHeaders(reply).send(session(result.principal, result.csrfBinding, result.identity));
  });

  app.post("/ui/session", async (request, reply) => {
    securityHeaders(reply);
    const body = signInBody.safeParse(request.body);
    if (!body.success) return reply.code(400).send({ error: 'body must be {"key": "<API key>"}' });
    const principal = auth.principalOf(body.data.key);
    if (!principal || !auth.required) {
      return reply.code(auth.required ? 401 : 409).send({
        error: auth.required ? "unknown API key" : "auth is off on this gateway: no sign-in needed",
      });
    }
    return reply
      .header("set-cookie", auth.setCookie(body.data.key, isSecureRequest(request)))
      .header("set-cookie", clearSessionCookie())
      .send(session(principal, body.data.key));
  });

  app.delete("/ui/session", async (request, reply) => {
    const result = auth.authenticate(request);
    if (!authorize(auth, request, reply, false)) return reply;
    securityHeaders(reply)
      .header("set-cookie", auth.clearCookie())
      .header("set-cookie", clearSessionCookie());
    // Signed in with the provider: the page goes on to its logout when it has one.
    const identity = result.ok ? result.identity : undefined;
    const logoutUrl = identity && auth.oidc ? await auth.oidc.logoutUrl(identity) : undefined;
    return logoutUrl ? reply.send({ logoutUrl }) : reply.code(204).send();
  });

  app.get("/ui/events", async (request, reply) => {
    const principal = authorize(auth, request, reply, false);
    if (!principal) return reply;
    const signedIn = auth.authenticate(request);
    const identity = signedIn.ok ? signedIn.identity : undefined;
    reply.hijack();
    const raw = reply.raw;
    // A provider session's stream ends with the session (a second after, so the reconnect surely gets a 401).
    const endsIn = identity ? identity.exp * 1000 - Date.now() + 1000 : undefined;
    const sessionEnd = endsIn === undefined ? undefined : setTimeout(() => raw.end(), endsIn);
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
      "content-security-policy": CONTENT_SECURITY_POLICY,
    });
    const send = (event: string, data: unknown) =>
      raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let lastShards = "";
    let lastTools = "";
    const pushState = () => {
      const tools = opts.catalogue.catalogue.version;
      if (tools !== lastTools) {
        lastTools = tools;
        send("tools", { version: tools });
      }
      if (!principal.admin) return;
      const shards = JSON.stringify(describeShards(opts.registry.snapshot().values(), opts.catalogue));
      if (shards === lastShards) return;
      lastShards = shards;
      raw.write(`event: shards\ndata: {"mode":${JSON.stringify(opts.registry.mode)},"shards":${shards}}\n\n`);
    };
    let pending: NodeJS.Timeout | undefined;
    const soon = () => (pending ??= setTimeout(() => ((pending = undefined), pushState()), 50));
    raw.write("retry: 2000\n\n");
    pushState();
    const unsubscribe = [
      opts.registry.onChange(soon),
      opts.catalogue.onChange(soon),
      opts.activity.onEntry((entry) => {
        if (principal.admin || principal.mayCall(entry.tool))
          send("activity", { id: entry.id, time: entry.time, tool: entry.tool, outcome: entry.outcome });
      }),
    ];
    let sinceKeepAlive = 0;
    const pollMs = opts.pollMs ?? 2000;
    const timer = setInterval(() => {
      // A draining replica ends its streams; the browser reconnects to another one.
      if (!opts.drain.ready) return raw.end();
      pushState();
      sinceKeepAlive += pollMs;
      if (sinceKeepAlive >= (opts.keepAliveMs ?? 15_000)) {
        sinceKeepAlive = 0;
        raw.write(": keep-alive\n\n");
      }
    }, pollMs);
    raw.once("close", () => {
      clearInterval(timer);
      clearTimeout(sessionEnd);
      if (pending) clearTimeout(pending);
      for (const u of unsubscribe) u();
    });
  });
}
