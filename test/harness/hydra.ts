/**
 * A real OAuth 2.1 / OpenID Connect provider for the tests: Ory Hydra (built by
 * hack/testbin, `make testbin`) on loopback with `DSN=memory`, plus the small
 * login and consent app Hydra needs (Hydra has no user database of its own).
 *
 * Choices:
 *  - `serve all --dev`: public and admin API on two free ports, plain HTTP
 *    (loopback only); the issuer is the public URL.
 *  - Access tokens are JWTs (`strategies.access_token=jwt`) so resource
 *    servers validate them locally against Hydra's JWKS.
 *  - Dynamic client registration is on: MCP clients register themselves.
 *  - The login app signs in `currentUser` (set by `loginAs`) without a form:
 *    tests drive the browser leg with `authorize()`, which follows the
 *    redirects (cookies included) the way a browser would.
 *  - The consent app grants every requested scope, and as the access token's
 *    audience the RFC 8707 `resource` of the authorization request (Hydra
 *    itself only knows its own `audience` parameter, so this is how a
 *    resource indicator reaches `aud`, as Keycloak or Authentik mappers do).
 *    The resource is also added to the client's allowed audiences, since
 *    Hydra checks them again when a refresh token is used. The user's email
 *    and groups go into the token as claims `email` and `groups` (top level:
 *    `oauth2.allowed_top_level_claims`).
 *  - With `users`, the login and consent app shows real pages instead (a
 *    username form; the requested scopes with Allow and Deny), for browser
 *    tests that sign in the way a person does and may decline.
 *  - Logout (RP-initiated, /oauth2/sessions/logout) is accepted at once.
 *  - `issuer` puts the issuer (and so every endpoint Hydra advertises) at
 *    another URL: a proxy the test runs in front of `publicUrl`.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binary } from "./binaries.ts";
import { freePort, httpGet } from "./net.ts";
import { sleep } from "../../src/util/index.ts";
import { spawnManaged } from "./process.ts";

export interface HydraUser {
  readonly subject: string;
  readonly email?: string;
  readonly groups?: readonly string[];
}

export interface HydraClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface CreateClientOptions {
  readonly grantTypes?: readonly string[];
  readonly redirectUris?: readonly string[];
  /** Audiences the client may ask for (client_credentials `audience`). */
  readonly audience?: readonly string[];
  readonly scope?: string;
  /** e.g. "1s": client_credentials access tokens of this client expire that fast. */
  readonly accessTokenLifespan?: string;
  /** Where RP-initiated logout may return to. */
  readonly postLogoutRedirectUris?: readonly string[];
}

export interface Hydra {
  /** The issuer, e.g. http://127.0.0.1:PORT (no trailing slash). */
  readonly issuer: string;
  readonly publicUrl: string;
  readonly adminUrl: string;
  /** The user the login app signs in next. */
  loginAs(user: HydraUser): void;
  /** With `users`: show the login and consent pages (default), or sign in `loginAs`'s user without them. */
  showPages(on: boolean): void;
  /** Registers a client through the admin API. */
  createClient(opts?: CreateClientOptions): Promise<HydraClient>;
  /** A client_credentials access token (a JWT). */
  clientCredentialsToken(client: HydraClient, opts?: { scope?: string; audience?: string }): Promise<string>;
  /**
   * Plays the browser: follows an authorization URL through login and consent
   * until Hydra redirects to the client's redirect URI, and returns that URL
   * (with `code` and `state`), without requesting it.
   */
  authorize(authorizationUrl: string | URL): Promise<URL>;
  /** Everything Hydra logged so far. */
  logs(): string;
  stop(): Promise<void>;
}

export interface HydraOptions {
  /** Signed in until `loginAs` says otherwise. @default subject "alice", no groups */
  readonly user?: HydraUser;
  /** How long to wait for Hydra's health endpoint. @default 30000 */
  readonly startTimeoutMs?: number;
  /** Users who sign in through the login form (and consent page) by subject. @default no pages */
  readonly users?: readonly HydraUser[];
  /** The issuer URL, when a proxy in front of the public port serves it. @default publicUrl */
  readonly issuer?: string;
}

async function json(response: Response, what: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  if (!response.ok) throw new Error(`hydra ${what}: HTTP ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function htmlPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/**
 * The login and consent app: accepts every challenge for the current user, or
 * (with `users`) asks through pages: who signs in, and whether to allow.
 */
function loginConsentApp(
  adminUrl: string,
  currentUser: () => HydraUser,
  users: readonly HydraUser[] | undefined,
  showPages: () => boolean,
): Server {
  const admin = (path: string, init?: RequestInit) =>
    fetch(`${adminUrl}/admin/oauth2/auth/requests/${path}`, {
      ...init,
      headers: { "content-type": "application/json" },
    });
  const accept = async (kind: "login" | "consent", challenge: string, body: unknown) => {
    const param = `${kind}_challenge=${encodeURIComponent(challenge)}`;
    const done = await json(
      await admin(`${kind}/accept?${param}`, { method: "PUT", body: JSON.stringify(body) }),
      `accept ${kind}`,
    );
    return String(done.redirect_to);
  };
  const page = (res: ServerResponse, status: number, title: string, body: string) =>
    res.writeHead(status, { "content-type": "text/html; charset=utf-8" }).end(htmlPage(title, body));
  const userOf = (subject: string) => users?.find((u) => u.subject === subject) ?? currentUser();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://login.invalid");
    const paged = users && showPages() ? users : undefined;
    let next: string;
    if (url.pathname === "/login" && paged && req.method === "GET") {
      const challenge = escapeHtml(url.searchParams.get("login_challenge") ?? "");
      return page(
        res,
        200,
        "Sign in to the test provider",
        `<form method="post" action="/login"><input type="hidden" name="challenge" value="${challenge}">
<label for="username">Username</label> <input id="username" name="username" autocomplete="username">
<button type="submit" id="login">Sign in</button></form>`,
      );
    } else if (url.pathname === "/login" && paged) {
      const form = await formBody(req);
      const subject = form.get("username") ?? "";
      if (!paged.some((u) => u.subject === subject))
        return page(res, 401, "Unknown user", `<p>No user ${escapeHtml(subject)}.</p>`);
      next = await accept("login", form.get("challenge") ?? "", { subject, remember: false });
    } else if (url.pathname === "/login") {
      const challenge = url.searchParams.get("login_challenge") ?? "";
      next = await accept("login", challenge, { subject: currentUser().subject, remember: false });
    } else if (url.pathname === "/consent" && paged && req.method === "GET") {
      const challenge = url.searchParams.get("consent_challenge") ?? "";
      const request = await json(
        await admin(`consent?consent_challenge=${encodeURIComponent(challenge)}`),
        "consent request",
      );
      const scopes = ((request.requested_scope as string[] | null) ?? []).map(escapeHtml).join(", ");
      return page(
        res,
        200,
        "Allow access?",
        `<p>The application asks for: <span id="scopes">${scopes}</span></p>
<form method="post" action="/consent"><input type="hidden" name="challenge" value="${escapeHtml(challenge)}">
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button></form>`,
      );
    } else if (url.pathname === "/consent" && paged) {
      const form = await formBody(req);
      const challenge = form.get("challenge") ?? "";
      if (form.get("decision") !== "allow") {
        const param = `consent_challenge=${encodeURIComponent(challenge)}`;
        const body = JSON.stringify({ error: "access_denied", error_description: "The user declined." });
        next = String(
          (await json(await admin(`consent/reject?${param}`, { method: "PUT", body }), "reject consent"))
            .redirect_to,
        );
      } else {
        next = await grantConsent(challenge);
      }
    } else if (url.pathname === "/consent") {
      next = await grantConsent(url.searchParams.get("consent_challenge") ?? "");
    } else if (url.pathname === "/logout") {
      const challenge = url.searchParams.get("logout_challenge") ?? "";
      const param = `logout_challenge=${encodeURIComponent(challenge)}`;
      next = String(
        (await json(await admin(`logout/accept?${param}`, { method: "PUT" }), "accept logout")).redirect_to,
      );
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(302, { location: next }).end();
  };
  /** Grants what was asked, with the resource as audience and the user's email and groups as claims. */
  const grantConsent = async (challenge: string): Promise<string> => {
    const request = await json(
      await admin(`consent?consent_challenge=${encodeURIComponent(challenge)}`),
      "consent request",
    );
    const user = userOf(String(request.subject));
    const requestUrl = new URL(String(request.request_url), "http://hydra.invalid");
    const resources = requestUrl.searchParams.getAll("resource");
    const requested = (request.requested_access_token_audience as string[] | null) ?? [];
    const client = request.client as { client_id: string; audience?: string[] | null };
    const missing = resources.filter((r) => !(client.audience ?? []).includes(r));
    // Hydra re-checks a granted audience against the client's allowed list on
    // refresh: allow the resource for the client, as an IdP admin would.
    if (missing.length > 0) {
      const patch = missing.map((value) => ({ op: "add", path: "/audience/-", value }));
      const patched = await fetch(`${adminUrl}/admin/clients/${encodeURIComponent(client.client_id)}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(client.audience ? patch : [{ op: "add", path: "/audience", value: missing }]),
      });
      await json(patched, "allow the resource as the client's audience");
    }
    const claims = { email: user.email, groups: user.groups ?? [] };
    return accept("consent", challenge, {
      grant_scope: request.requested_scope ?? [],
      grant_access_token_audience: [...requested, ...resources],
      remember: false,
      session: { access_token: claims, id_token: claims },
    });
  };
  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(error));
    });
  });
}

/** Follows redirects by hand (keeping cookies per origin) until `stop` says a URL is the end. */
async function followRedirects(start: URL, isEnd: (url: URL) => boolean): Promise<URL> {
  const jar = new Map<string, Map<string, string>>();
  let url = start;
  for (let hop = 0; hop < 20; hop++) {
    if (isEnd(url)) return url;
    const cookies = jar.get(url.origin) ?? new Map<string, string>();
    jar.set(url.origin, cookies);
    const response = await fetch(url, {
      redirect: "manual",
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (pair && eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new Error(
        `authorization stopped at ${url.href}: HTTP ${response.status}: ${await response.text()}`,
      );
    }
    await response.body?.cancel();
    url = new URL(location, url);
  }
  throw new Error(`authorization did not finish within 20 redirects (last: ${url.href})`);
}

export async function startHydra(opts: HydraOptions = {}): Promise<Hydra> {
  const hydraBin = binary("hydra");
  const dir = await mkdtemp(join(tmpdir(), "shardgate-hydra-"));
  const [publicPort, adminPort] = await Promise.all([freePort(), freePort()]);
  const publicUrl = `http://127.0.0.1:${publicPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  let user: HydraUser = opts.user ?? { subject: "alice" };
  let pages = opts.users !== undefined;
  const app = loginConsentApp(
    adminUrl,
    () => user,
    opts.users,
    () => pages,
  );
  await new Promise<void>((resolve, reject) => {
    app.once("error", reject);
    app.listen(0, "127.0.0.1", resolve);
  });
  const appPort = (app.address() as { port: number }).port;
  const appUrl = `http://127.0.0.1:${appPort}`;
  const issuer = opts.issuer ?? publicUrl;

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    DSN: "memory",
    SECRETS_SYSTEM: randomBytes(24).toString("hex"),
    URLS_SELF_ISSUER: issuer,
    URLS_LOGIN: `${appUrl}/login`,
    URLS_CONSENT: `${appUrl}/consent`,
    URLS_LOGOUT: `${appUrl}/logout`,
    SERVE_PUBLIC_HOST: "127.0.0.1",
    SERVE_PUBLIC_PORT: String(publicPort),
    SERVE_ADMIN_HOST: "127.0.0.1",
    SERVE_ADMIN_PORT: String(adminPort),
    STRATEGIES_ACCESS_TOKEN: "jwt",
    OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED: "true",
    // Hydra names its registration endpoint in discovery only when told where it is.
    WEBFINGER_OIDC_DISCOVERY_CLIENT_REGISTRATION_URL: `${issuer}/oauth2/register`,
    OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS: "email,groups",
    OAUTH2_EXPOSE_INTERNAL_ERRORS: "true",
    SQA_OPT_OUT: "true",
    LOG_LEVEL: "debug",
    LOG_LEAK_SENSITIVE_VALUES: "true",
  };
  const logPath = join(dir, "hydra.log");
  const proc = spawnManaged("hydra", hydraBin, ["serve", "all", "--dev", "--sqa-opt-out"], {
    logPath,
    env,
    cleanupDir: dir,
  });
  const stop = async () => {
    await proc.stop();
    await new Promise<void>((resolve) => app.close(() => resolve()));
    app.closeAllConnections();
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    if (proc.exit) {
      const tail = proc.logTail();
      await stop();
      throw new Error(`hydra exited during start (${JSON.stringify(proc.exit)}):\n${tail}`);
    }
    const ready = await httpGet(`${adminUrl}/health/ready`).catch(() => undefined);
    if (ready?.status === 200) break;
    if (Date.now() > deadline) {
      const tail = proc.logTail();
      await stop();
      throw new Error(`hydra was not ready within ${opts.startTimeoutMs ?? 30_000} ms:\n${tail}`);
    }
    await sleep(100);
  }

  const hydra: Hydra = {
    issuer,
    publicUrl,
    adminUrl,
    loginAs(next) {
      user = next;
    },
    showPages(on) {
      pages = on && opts.users !== undefined;
    },
    async createClient(options = {}) {
      const grantTypes = options.grantTypes ?? ["client_credentials"];
      const created = await json(
        await fetch(`${adminUrl}/admin/clients`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            grant_types: grantTypes,
            response_types: grantTypes.includes("authorization_code") ? ["code"] : [],
            redirect_uris: options.redirectUris ?? [],
            post_logout_redirect_uris: options.postLogoutRedirectUris ?? [],
            audience: options.audience ?? [],
            scope: options.scope ?? "openid offline_access mcp",
            token_endpoint_auth_method: "client_secret_post",
          }),
        }),
        "create client",
      );
      const client = { clientId: String(created.client_id), clientSecret: String(created.client_secret) };
      if (options.accessTokenLifespan) {
        await json(
          await fetch(`${adminUrl}/admin/clients/${client.clientId}/lifespans`, {
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              client_credentials_grant_access_token_lifespan: options.accessTokenLifespan,
            }),
          }),
          "set lifespans",
        );
      }
      return client;
    },
    async clientCredentialsToken(client, options = {}) {
      const body = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: client.clientId,
        client_secret: client.clientSecret,
      });
      if (options.scope) body.set("scope", options.scope);
      if (options.audience) body.set("audience", options.audience);
      const token = await json(await fetch(`${publicUrl}/oauth2/token`, { method: "POST", body }), "token");
      return String(token.access_token);
    },
    authorize(authorizationUrl) {
      const start = new URL(authorizationUrl);
      const redirect = start.searchParams.get("redirect_uri");
      if (!redirect) throw new Error(`authorization URL has no redirect_uri: ${start.href}`);
      const end = new URL(redirect);
      return followRedirects(start, (url) => url.origin === end.origin && url.pathname === end.pathname);
    },
    logs: () => proc.logTail(100_000),
    stop,
  };
  return hydra;
}
