/**
 * OAuth for `shardgate connect`: the browser login (authorization code +
 * PKCE, loopback redirect), and the bearer provider the gateway link uses:
 * the cached access token, refreshed shortly before it expires and again on
 * a 401; a 401 that no refresh cures starts a browser login, and the request
 * waits for it.
 */
import { spawn } from "node:child_process";
import { auth, extractWWWAuthenticateParams, type AuthProvider } from "@modelcontextprotocol/client";
import type { Logger } from "../../log.ts";
import { messageOf } from "../../util/index.ts";
import type { ConnectConfig } from "../config.ts";
import { listenForCallback, type Callback } from "./callback.ts";
import { ConnectOAuthProvider, LoginRequiredError } from "./provider.ts";
import { defaultConfigDir, TokenStore } from "./store.ts";

export { ConnectOAuthProvider, LoginRequiredError } from "./provider.ts";
export { cacheFile, defaultConfigDir, TokenStore } from "./store.ts";
export { listenForCallback } from "./callback.ts";

/**
 * Refresh this long before the access token expires (a minute, or half the
 * lifetime of short-lived tokens), so no request carries a token about to lapse.
 */
export function refreshDue(cached: { expiresAt?: number; lifetimeMs?: number }, now = Date.now()): boolean {
  if (cached.expiresAt === undefined) return false;
  const margin = Math.min(60_000, (cached.lifetimeMs ?? 120_000) / 2);
  return cached.expiresAt - margin <= now;
}

type LoginConfig = Pick<
  ConnectConfig,
  "clientId" | "scope" | "redirectPort" | "openBrowser" | "configDir" | "loginTimeoutSeconds"
>;

export interface OAuthLogin {
  readonly provider: ConnectOAuthProvider;
  /** Logs in (refreshing if the cache allows, else in the browser). */
  login(resourceMetadataUrl?: URL): Promise<void>;
  /** Forgets the cached client and tokens of this gateway. */
  logout(): Promise<void>;
  /** Bearer credentials for the gateway link. */
  authProvider(): AuthProvider;
}

export function oauthLogin(gateway: URL, config: LoginConfig, logger: Logger): OAuthLogin {
  const store = new TokenStore(config.configDir ?? defaultConfigDir(), gateway);
  const provider = new ConnectOAuthProvider({
    store,
    ...(config.clientId ? { clientId: config.clientId } : {}),
    ...(config.scope ? { scope: config.scope } : {}),
  });
  const scope = config.scope;
  let inFlight: Promise<void> | undefined;

  /**
   * The SDK's flow without the browser: a refresh with the cached refresh
   * token, else LoginRequiredError (also when the refresh is refused: the
   * SDK then forgets the tokens and asks for a redirect, which throws).
   */
  const refresh = async (resourceMetadataUrl?: URL) => {
    provider.onRedirect = undefined;
    if (!(await provider.tokens())?.refresh_token || !(await provider.clientInformation())) {
      throw new LoginRequiredError("no refresh token cached");
    }
    await auth(provider, {
      serverUrl: gateway,
      ...(scope ? { scope } : {}),
      ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}),
    });
  };

  const browserLogin = async (resourceMetadataUrl?: URL) => {
    const callback = await openCallback(provider, config, logger);
    try {
      provider.redirectPort = callback.port;
      provider.onRedirect = (url) => showAuthorizationUrl(url, config.openBrowser, logger);
      const options = {
        serverUrl: gateway,
        ...(scope ? { scope } : {}),
        ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}),
      };
      if ((await auth(provider, { ...options, forceReauthorization: true })) === "AUTHORIZED") return;
      const query = await callback.wait(() => provider.expectedState, config.loginTimeoutSeconds * 1000);
      const error = query.get("error");
      if (error) throw new Error(`the authorization server refused the login: ${error}`);
      await auth(provider, {
        ...options,
        authorizationCode: query.get("code") ?? "",
        ...(query.has("iss") ? { iss: query.get("iss") ?? "" } : {}),
      });
      logger.info({ cache: store.path }, "logged in to the gateway");
    } finally {
      provider.onRedirect = undefined;
      await callback.close();
    }
  };

  /** One login at a time, however many requests found they need one. */
  const login = (resourceMetadataUrl?: URL, interactive = true): Promise<void> =>
    (inFlight ??= (async () => {
      try {
        await refresh(resourceMetadataUrl);
      } catch (error) {
        if (!(error instanceof LoginRequiredError) || !interactive) throw error;
        await browserLogin(resourceMetadataUrl);
      }
    })().finally(() => {
      inFlight = undefined;
    }));

  const token = async (): Promise<string | undefined> => {
    const cached = (await provider.cached()).tokens;
    if (!cached) return undefined;
    if (refreshDue(cached) && cached.tokens.refresh_token) {
      try {
        await login(undefined, false);
      } catch (error) {
        // The gateway will answer 401 and the request then waits for a login.
        logger.info({ err: messageOf(error) }, "token refresh failed");
      }
    }
    return (await provider.tokens())?.access_token;
  };

  return {
    provider,
    login: (resourceMetadataUrl) => login(resourceMetadataUrl),
    logout: async () => {
      await store.remove();
      logger.info({ cache: store.path }, "forgot the cached OAuth client and tokens");
    },
    authProvider: () => ({
      token,
      onUnauthorized: async ({ response }) => {
        const { resourceMetadataUrl } = extractWWWAuthenticateParams(response);
        // The token was refused although it looked valid (revoked, keys rotated): a refresh may cure it.
        await provider.invalidateCredentials("discovery");
        const cached = (await provider.cached()).tokens;
        if (cached) await store.update((c) => ({ ...c, tokens: { ...cached, expiresAt: 0 } }));
        logger.info("the gateway asks for OAuth credentials; logging in");
        await login(resourceMetadataUrl);
      },
    }),
  };
}

/**
 * The loopback listener on the port the client was registered with; if that
 * port is taken now, a free one, and a dynamically registered client is
 * registered again (its redirect URI names the old port).
 */
async function openCallback(
  provider: ConnectOAuthProvider,
  config: LoginConfig,
  logger: Logger,
): Promise<Callback> {
  const saved = (await provider.cached()).redirectPort;
  const port = config.redirectPort || saved || 0;
  try {
    return await listenForCallback(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || config.redirectPort || config.clientId) {
      throw new Error(`cannot listen for the login callback on 127.0.0.1:${port}`, { cause: error });
    }
    logger.info({ port }, "the registered redirect port is taken; registering the client again");
    await provider.invalidateCredentials("client");
    return listenForCallback(0);
  }
}

/** Prints the URL on stderr (always: the browser may not open) and tries to open it. */
async function showAuthorizationUrl(url: URL, openBrowser: boolean, logger: Logger): Promise<void> {
  process.stderr.write(`\nshardgate connect: log in to the gateway by opening\n\n  ${url.href}\n\n`);
  logger.info({ authorizationUrl: url.href }, "waiting for the browser login");
  if (!openBrowser) return;
  const [command, ...args] = browserCommand(url.href);
  if (!command) return;
  try {
    const child = spawn(command, args, { stdio: "ignore", detached: true });
    child.on("error", (error) =>
      logger.info({ err: error.message, command }, "could not open a browser; open the URL by hand"),
    );
    child.unref();
  } catch (error) {
    logger.info({ err: messageOf(error), command }, "could not open a browser; open the URL by hand");
  }
}

/** $BROWSER if set (the Unix convention), else the platform's opener. */
function browserCommand(url: string): string[] {
  const browser = process.env.BROWSER;
  if (browser) return [...browser.split(" ").filter(Boolean), url];
  if (process.platform === "darwin") return ["open", url];
  if (process.platform === "win32") return ["cmd", "/c", "start", '""', url];
  return ["xdg-open", url];
}
