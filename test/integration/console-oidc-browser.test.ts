/**
 * The console's provider sign-in in a real headless Chromium against a real
 * Ory Hydra (test/harness/hydra.ts, with its login and consent pages) and a
 * gateway following McpShards in the real control plane. A person signs in
 * through Hydra's pages; their groups decide what they see through the same
 * policy as access tokens: the admins group gets the Shards view and toggles
 * a shard (spec.enabled written to the cluster), the alpha group sees only
 * alpha's tools and no Shards view. The activity log names the user; sign-out
 * goes through Hydra's logout and back. Refused: a declined consent, a
 * callback whose state was tampered with, and a genuine Hydra ID token issued
 * to another client (wrong aud), swapped into the token response by a proxy
 * in front of Hydra that serves as its issuer URL. Fails on any console error
 * or CSP violation; prints the screenshot files it saves.
 */
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, KIND } from "../../src/api/index.ts";
import {
  buildGatewayApp,
  Gate,
  KeyStore,
  Policy,
  TokenVerifier,
  type Gateway,
} from "../../src/gateway/index.ts";
import { KubeRegistry } from "../../src/gateway/registry/kube.ts";
import { KubeClient, loadKubeConfig, RESOURCES, type KubeObject } from "../../src/kube/index.ts";
import { silentLogger } from "../../src/log.ts";
import { startBrowser, type BrowserPage, type TestBrowser } from "../harness/browser.ts";
import { startHydra, type Hydra, type HydraClient, type HydraUser } from "../harness/hydra.ts";
import { freePort, kubeconfigPath, useNamespace, waitFor } from "../harness/index.ts";
import { startShard, type TestShard } from "../support/gateway-fixtures.ts";
import { trueCondition } from "../support/shards.ts";

const ns = useNamespace("console-oidc");
const ADMIN_KEY = "console-oidc-admin-key-0123456789";
const USERS: HydraUser[] = [
  { subject: "alice", email: "alice@example.com", groups: ["homelab-admins"] },
  { subject: "bob", email: "bob@example.com", groups: ["alpha-users"] },
];
const GRANTS = [
  { groups: ["homelab-admins"], admin: true },
  { groups: ["alpha-users"], tools: ["alpha_*"] },
];

async function readBody(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Changes where Hydra sends the browser back to (a man in the middle), before it goes. */
type CallbackHook = (callback: URL) => Promise<URL>;

/**
 * Hydra's issuer URL: forwards everything to Hydra's public port, notes the
 * nonce of the last authorization request and the paths seen; it can rewrite
 * Hydra's redirect to the console's callback (Chromium follows that redirect
 * inside its network stack, where page.route does not reach) and swap the ID
 * token of the next successful token response (a misbehaving provider).
 */
async function startIssuerProxy() {
  let target = "";
  let swapIdToken: string | undefined;
  let callbackHook: CallbackHook | undefined;
  const state = { lastNonce: "", paths: [] as string[] };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", target);
    state.paths.push(url.pathname);
    if (url.pathname === "/oauth2/auth") state.lastNonce = url.searchParams.get("nonce") ?? state.lastNonce;
    const upstream = request(url, { method: req.method, headers: req.headers }, (answer) => {
      const location = answer.headers.location ? new URL(answer.headers.location, url) : undefined;
      const hook = location?.pathname === "/ui/oidc/callback" ? callbackHook : undefined;
      if (hook && location) {
        callbackHook = undefined;
        answer.resume();
        void hook(location).then(
          (next) => res.writeHead(answer.statusCode ?? 302, { ...answer.headers, location: next.href }).end(),
          (error: unknown) => res.writeHead(500).end(String(error)),
        );
        return;
      }
      const swap = url.pathname === "/oauth2/token" && answer.statusCode === 200 ? swapIdToken : undefined;
      if (!swap) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      swapIdToken = undefined;
      void readBody(answer).then((body) => {
        const tokens = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
        const headers = { ...answer.headers };
        delete headers["content-length"];
        res.writeHead(200, headers).end(JSON.stringify({ ...tokens, id_token: swap }));
      });
    });
    upstream.on("error", (error) => res.writeHead(502).end(String(error)));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    forwardTo: (url: string) => (target = url),
    swapNextIdToken: (token: string) => (swapIdToken = token),
    onNextCallback: (hook: CallbackHook) => (callbackHook = hook),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("console sign-in with the identity provider, in Chromium", () => {
  let kube: KubeClient;
  let shards: TestShard[];
  let proxy: Awaited<ReturnType<typeof startIssuerProxy>>;
  let hydra: Hydra;
  let consoleClient: HydraClient;
  let gateway: Gateway;
  let base: string;
  let browser: TestBrowser;
  const pages: BrowserPage[] = [];

  beforeAll(async () => {
    kube = new KubeClient(loadKubeConfig({ kubeconfig: kubeconfigPath() }));
    shards = await Promise.all([startShard({ name: "alpha" }), startShard({ name: "beta" })]);
    for (const shard of shards) {
      await kube.create(RESOURCES.mcpShard, {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: shard.name, namespace: ns.name },
        spec: { url: shard.url },
      });
      const status = {
        url: shard.url,
        conditions: [trueCondition("Ready", "test"), trueCondition("Verified", "tools/list answered")],
      };
      await kube.mergePatch(RESOURCES.mcpShard, ns.name, shard.name, { status }, "status");
    }

    proxy = await startIssuerProxy();
    hydra = await startHydra({ users: USERS, issuer: proxy.url });
    proxy.forwardTo(hydra.publicUrl);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    consoleClient = await hydra.createClient({
      grantTypes: ["authorization_code"],
      redirectUris: [`${base}/ui/oidc/callback`],
      postLogoutRedirectUris: [`${base}/ui/`],
      scope: "openid profile email",
    });
    const gate = new Gate({
      keys: KeyStore.fromEntries([{ id: "ops", key: ADMIN_KEY, admin: true }]),
      oauth: new TokenVerifier({ issuer: hydra.issuer, resource: `${base}/mcp` }),
      policy: Policy.fromEntries({ grants: GRANTS }),
    });
    gateway = await buildGatewayApp({
      registry: new KubeRegistry({ client: kube, logger: silentLogger(), namespaces: [ns.name] }),
      gate,
      consoleOidc: {
        issuer: hydra.issuer,
        clientId: consoleClient.clientId,
        clientSecret: consoleClient.clientSecret,
        redirectUrl: `${base}/ui/oidc/callback`,
        providerName: "Hydra",
      },
      downGraceMs: 0,
      backoffInitialMs: 50,
    });
    await gateway.start();
    await gateway.app.listen({ host: "127.0.0.1", port });
    await waitFor(
      () =>
        gateway.catalogue.catalogue.toolsByName.has("alpha_echo") &&
        gateway.catalogue.catalogue.toolsByName.has("beta_echo"),
      { message: "alpha_echo and beta_echo listed" },
    );
    browser = await startBrowser("console-oidc");
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await hydra?.stop();
    await proxy?.close();
    for (const shard of shards ?? []) await shard.close();
    await kube?.close();
  });

  /** A fresh browser (own cookies) on the console's sign-in page. */
  async function openConsole(): Promise<BrowserPage> {
    const ui = await browser.open(`${base}/ui`);
    pages.push(ui);
    await ui.page.locator("#signin-provider").waitFor();
    return ui;
  }

  /** Through Hydra's login and consent pages, as a person would. */
  async function signIn(ui: BrowserPage, subject: string, decision: "allow" | "deny" = "allow") {
    await ui.page.click("#signin-provider");
    await ui.page.fill("#username", subject);
    await ui.page.click("#login");
    await ui.page.locator(`#${decision}`).waitFor();
    return ui.page.click(`#${decision}`);
  }

  /** A refusal page is a 4xx document, which Chromium logs once; anything more is a problem. */
  const refusals = new Map<BrowserPage, string>();
  const expectRefusal = (ui: BrowserPage, status: string) =>
    refusals.set(
      ui,
      `console error: Failed to load resource: the server responded with a status of ${status}`,
    );

  const session = (ui: BrowserPage) =>
    ui.page.evaluate(async () => (await fetch("/ui/session")).json()) as Promise<Record<string, unknown>>;

  it("offers the provider beside the API key form and signs an admin in through Hydra's pages", async () => {
    const ui = await openConsole();
    expect(await ui.page.locator("#signin-provider").textContent()).toBe("Sign in with Hydra");
    expect(await ui.page.locator("#key").isVisible()).toBe(true);
    await ui.screenshot("01-sign-in-choices");
    await ui.page.click("#signin-provider");
    await ui.page.fill("#username", "alice");
    await ui.screenshot("02-hydra-login");
    await ui.page.click("#login");
    await ui.page.locator("#allow").waitFor();
    expect(await ui.page.locator("#scopes").textContent()).toContain("openid");
    await ui.screenshot("03-hydra-consent");
    await ui.page.click("#allow");

    await ui.page.locator(`article.shard[data-shard="${ns.name}/alpha"]`).waitFor();
    expect(await ui.page.locator(".who").textContent()).toBe("alice@example.com (admin)");
    // Back on a clean address: no code, state or token in the URL or history entry.
    expect(ui.page.url()).toBe(`${base}/ui/`);
    // The session lives in HttpOnly cookies only.
    expect(await ui.page.evaluate("document.cookie")).toBe("");
    expect(await ui.page.evaluate("localStorage.length + sessionStorage.length")).toBe(0);
    const cookies = await ui.page.context().cookies(base);
    const sessionCookie = cookies.find((c) => c.name === "shardgate_session");
    expect(sessionCookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    expect(sessionCookie?.value).not.toContain(".ey"); // sealed, not a readable JWT
    expect(cookies.some((c) => c.name === "shardgate_signin")).toBe(false);
    expect(await session(ui)).toMatchObject({
      signedIn: true,
      id: "user:alice",
      admin: true,
      via: "provider",
      user: { subject: "alice", email: "alice@example.com", groups: ["homelab-admins"] },
    });
    // The session lasts as long as Hydra's ID token (one hour by default), not the cookie's own clock.
    const { expiresAt } = (await session(ui)) as { expiresAt: string };
    const left = Date.parse(expiresAt) - Date.now();
    expect(left).toBeGreaterThan(50 * 60_000);
    expect(left).toBeLessThanOrEqual(60 * 60_000);
    await ui.screenshot("04-admin-shards");
  });

  it("lets the admin toggle a shard, writing spec.enabled", async () => {
    const ui = pages[0]!;
    const toggle = ui.page.locator(`article.shard[data-shard="${ns.name}/beta"] input.toggle`);
    expect(await toggle.isChecked()).toBe(true);
    const enabled = async () =>
      (await kube.get<KubeObject & { spec: { enabled?: boolean } }>(RESOURCES.mcpShard, ns.name, "beta")).spec
        .enabled !== false;
    await toggle.click();
    await waitFor(async () => !(await enabled()), { message: "spec.enabled never went false" });
    await ui.page.locator(`article.shard[data-shard="${ns.name}/beta"] input.toggle:not(:checked)`).waitFor();
    await toggle.click();
    await waitFor(enabled, { message: "spec.enabled never went back to true" });
  });

  it("records the admin's tool call under the user in the activity log", async () => {
    const ui = pages[0]!;
    await ui.page.click("#tab-tools");
    await ui.page.fill("#tool-search", "alpha_echo");
    const tool = ui.page.locator('details.tool[data-tool="alpha_echo"]');
    await tool.locator("summary").first().click();
    await ui.page.fill("#f-text", "from the console");
    await tool.locator("button.call").click();
    expect(await tool.locator(".result .block.text").textContent()).toBe("alpha:from the console");
    await ui.page.click("#tab-activity");
    const row = ui.page.locator("tr.entry", { hasText: "alpha_echo" }).first();
    await row.waitFor();
    // The user column (with the groups the call was made under), as for an access token's user.
    const user = row.locator("td.user-col");
    expect(await user.textContent()).toBe("alice@example.com");
    expect(await user.getAttribute("title")).toBe("homelab-admins");
    await ui.screenshot("05-activity-user");
  });

  it("signs out through Hydra's logout and lands on the sign-in page", async () => {
    const ui = pages[0]!;
    await ui.page.click("#signout");
    await ui.page.locator("#signin-provider").waitFor();
    expect(ui.page.url()).toBe(`${base}/ui/`);
    expect(proxy.state.paths).toContain("/oauth2/sessions/logout");
    expect(await session(ui)).toMatchObject({ signedIn: false });
    const left = await ui.page.context().cookies(base);
    expect(left.filter((c) => c.name.startsWith("shardgate_"))).toEqual([]);
  });

  it("shows a user limited to one shard only its tools, and no Shards view", async () => {
    const ui = await openConsole();
    await signIn(ui, "bob");
    await ui.page.locator("details.tool").first().waitFor();
    expect(await ui.page.locator("#tab-shards").count()).toBe(0);
    const tools = await ui.page
      .locator("details.tool")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-tool")));
    expect(tools).toContain("alpha_echo");
    expect(tools.filter((t) => !t?.startsWith("alpha_"))).toEqual([]);
    // Through the page's cookies (not its console: a 4xx fetch is logged as an error there).
    expect((await ui.page.request.get(`${base}/api/shards`)).status()).toBe(403);
    expect(await session(ui)).toMatchObject({ id: "user:bob", admin: false });
    await ui.screenshot("06-limited-user-tools");
    // Still CSRF-checked: a state-changing request without the token is refused.
    const withoutToken = await ui.page.request.post(`${base}/api/tools/alpha_echo/call`, {
      data: { arguments: { text: "x" } },
    });
    expect(withoutToken.status()).toBe(403);
    expect(await withoutToken.text()).toContain("CSRF");
    await ui.page.click("#signout");
    await ui.page.locator("#signin-provider").waitFor();
  });

  it("goes back to the sign-in page when the session has ended", async () => {
    const ui = await openConsole();
    await signIn(ui, "bob");
    await ui.page.locator("details.tool").first().waitFor();
    // What the browser does once the cookie's Max-Age (the ID token's expiry) has passed.
    await ui.page.context().clearCookies({ name: "shardgate_session" });
    expectRefusal(ui, "401 (Unauthorized)");
    await ui.page.click("#tab-activity");
    await ui.page.locator("form.signin .error", { hasText: "Your sign-in has ended" }).waitFor();
    expect(await ui.page.locator("#signin-provider").isVisible()).toBe(true);
  });

  it("explains a declined consent and opens no session", async () => {
    const ui = await openConsole();
    expectRefusal(ui, "403 (Forbidden)");
    await signIn(ui, "bob", "deny");
    await ui.page.locator("h2", { hasText: "Sign-in declined" }).waitFor();
    expect(await ui.page.locator("p.error").textContent()).toContain("access_denied");
    await ui.screenshot("07-consent-declined");
    expect(await session(ui)).toMatchObject({ signedIn: false });
  });

  it("refuses a callback whose state was tampered with", async () => {
    const ui = await openConsole();
    proxy.onNextCallback(async (callback) => {
      callback.searchParams.set("state", `${callback.searchParams.get("state")}x`);
      return callback;
    });
    expectRefusal(ui, "400 (Bad Request)");
    await signIn(ui, "alice");
    await ui.page.locator("h2", { hasText: "Sign-in refused" }).waitFor();
    expect(await ui.page.locator("p.error").textContent()).toContain("state mismatch");
    await ui.screenshot("08-state-tampered");
    expect(await session(ui)).toMatchObject({ signedIn: false });
  });

  it("refuses a genuine Hydra ID token issued to another client (aud)", async () => {
    const other = await hydra.createClient({
      grantTypes: ["authorization_code"],
      redirectUris: ["http://127.0.0.1:9/elsewhere"],
      scope: "openid email",
    });
    const ui = await openConsole();
    // Held on its way to the callback: mint the other client's ID token with this sign-in's nonce.
    proxy.onNextCallback(async (callback) => {
      hydra.showPages(false);
      hydra.loginAs(USERS[0]!);
      const authorize = new URL(`${hydra.issuer}/oauth2/auth`);
      authorize.search = new URLSearchParams({
        client_id: other.clientId,
        response_type: "code",
        scope: "openid email",
        redirect_uri: "http://127.0.0.1:9/elsewhere",
        state: "other-client-state",
        nonce: proxy.state.lastNonce,
      }).toString();
      const code = (await hydra.authorize(authorize)).searchParams.get("code") ?? "";
      hydra.showPages(true);
      const response = await fetch(`${hydra.issuer}/oauth2/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: "http://127.0.0.1:9/elsewhere",
          client_id: other.clientId,
          client_secret: other.clientSecret,
        }),
      });
      const tokens = (await response.json()) as { id_token: string };
      proxy.swapNextIdToken(tokens.id_token);
      return callback;
    });
    expectRefusal(ui, "400 (Bad Request)");
    await signIn(ui, "alice");
    await ui.page.locator("h2", { hasText: "Sign-in refused" }).waitFor();
    expect(await ui.page.locator("p.error").textContent()).toMatch(/"aud"/);
    await ui.screenshot("09-wrong-audience");
    expect(await session(ui)).toMatchObject({ signedIn: false });
  });

  it("saw no console error and no CSP violation", () => {
    for (const ui of pages) {
      const refusal = refusals.get(ui);
      expect(ui.problems).toEqual(refusal ? [refusal] : []);
    }
  });
});
