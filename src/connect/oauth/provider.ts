/**
 * The SDK's OAuthClientProvider for `shardgate connect`: a public client
 * (PKCE, no secret) with a loopback redirect (RFC 8252), registered
 * dynamically (RFC 7591) unless a static client id is given, everything it
 * must remember kept in the TokenStore. The flow itself (discovery through
 * the gateway's Protected Resource Metadata, registration, PKCE, code
 * exchange, refresh) is the SDK's `auth()`.
 */
import { randomBytes } from "node:crypto";
import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from "@modelcontextprotocol/client";
import type { CacheContent, TokenStore } from "./store.ts";

/** The browser step is needed (no valid refresh token) but this provider may not start one. */
export class LoginRequiredError extends Error {
  override name = "LoginRequiredError";
}

export interface ProviderOptions {
  readonly store: TokenStore;
  /** A client registered by hand at the authorization server; skips dynamic registration. */
  readonly clientId?: string;
  readonly scope?: string;
}

export class ConnectOAuthProvider implements OAuthClientProvider {
  readonly #options: ProviderOptions;
  #verifier: string | undefined;
  #state: string | undefined;
  /** Set by a login in progress: where the browser goes. Without it, a needed login throws. */
  onRedirect: ((url: URL) => Promise<void>) | undefined;
  /** The loopback port of a login in progress (else the registered one). */
  redirectPort: number | undefined;

  constructor(options: ProviderOptions) {
    this.#options = options;
  }

  get redirectUrl(): string {
    return `http://127.0.0.1:${this.redirectPort ?? 0}/callback`;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "shardgate connect",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      // Some servers (Ory Hydra 2.3) echo unset ones as "" and null, which the SDK's registration schema refuses.
      client_uri: "https://www.npmjs.com/package/shardgate",
      contacts: [],
      ...(this.#options.scope ? { scope: this.#options.scope } : {}),
    };
  }

  async cached(): Promise<CacheContent> {
    return this.#options.store.read();
  }

  state(): string {
    this.#state = randomBytes(16).toString("base64url");
    return this.#state;
  }

  /** The state of the authorization request in progress (the callback must echo it). */
  get expectedState(): string | undefined {
    return this.#state;
  }

  async clientInformation(): Promise<StoredOAuthClientInformation | undefined> {
    if (this.#options.clientId) return { client_id: this.#options.clientId };
    return (await this.cached()).client;
  }

  async saveClientInformation(client: StoredOAuthClientInformation): Promise<void> {
    if (this.#options.clientId) return;
    const port = this.redirectPort;
    await this.#options.store.update((c) => ({ ...c, client, ...(port ? { redirectPort: port } : {}) }));
  }

  async tokens(): Promise<StoredOAuthTokens | undefined> {
    return (await this.cached()).tokens?.tokens;
  }

  async saveTokens(tokens: StoredOAuthTokens): Promise<void> {
    // Keep the refresh token when a refresh answer omits it (RFC 6749 §6 lets the server keep the old one valid).
    const previous = (await this.cached()).tokens?.tokens;
    const merged = {
      ...tokens,
      ...(tokens.refresh_token === undefined && previous?.refresh_token
        ? { refresh_token: previous.refresh_token }
        : {}),
    };
    const lifetimeMs = typeof tokens.expires_in === "number" ? tokens.expires_in * 1000 : undefined;
    await this.#options.store.update((c) => ({
      ...c,
      tokens: {
        tokens: merged,
        ...(lifetimeMs !== undefined ? { expiresAt: Date.now() + lifetimeMs, lifetimeMs } : {}),
      },
    }));
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    if (!this.onRedirect) throw new LoginRequiredError("the gateway needs a login in the browser");
    await this.onRedirect(url);
  }

  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.#verifier) throw new Error("no login in progress (no PKCE code verifier)");
    return this.#verifier;
  }

  async saveDiscoveryState(discovery: OAuthDiscoveryState): Promise<void> {
    await this.#options.store.update((c) => ({ ...c, discovery }));
  }

  async discoveryState(): Promise<OAuthDiscoveryState | undefined> {
    return (await this.cached()).discovery;
  }

  async invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): Promise<void> {
    if (scope === "verifier" || scope === "all") this.#verifier = undefined;
    await this.#options.store.update((c) => {
      const { client, redirectPort, tokens, discovery, ...rest } = c;
      return {
        ...rest,
        ...(scope === "client" || scope === "all"
          ? {}
          : { ...(client ? { client } : {}), ...(redirectPort ? { redirectPort } : {}) }),
        ...(scope === "tokens" || scope === "all" ? {} : tokens ? { tokens } : {}),
        ...(scope === "discovery" || scope === "all" ? {} : discovery ? { discovery } : {}),
      };
    });
  }
}
