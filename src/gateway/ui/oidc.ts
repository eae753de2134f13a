/**
 * The console as an OpenID Connect relying party of the provider the gateway
 * already trusts for access tokens (--oauth-issuer): authorization code flow
 * with PKCE (S256), state and nonce, the provider found by issuer discovery.
 * openid-client (panva; built on oauth4webapi and jose) does the protocol:
 * it checks the callback's state (and RFC 9207 `iss` when sent), exchanges
 * the code, and verifies the ID token's signature against the provider's
 * JWKS, `iss`, `aud` (this client), `nonce`, `exp` and `iat`.
 *
 * The result is an identity (subject, email, name, groups from the configured
 * claim, the granted scopes) that the console keeps in a sealed cookie until
 * the ID token expires; what it may do is decided on every request by the
 * same policy as an access token's (Gate.userPrincipal), so a policy reload
 * applies to console sessions at once.
 */
import { randomBytes } from "node:crypto";
import * as client from "openid-client";
import { ConfigError } from "../../config/index.ts";
import { claimsOf } from "../auth/oauth.ts";
import type { GatewayConfig } from "../config.ts";
import type { ConsoleIdentity, SignInTransaction } from "./user-session.ts";
import { SignInError, signInErrorOf } from "./oidc-errors.ts";

export interface ConsoleOidcSettings {
  /** The provider's issuer identifier (the gateway's --oauth-issuer). */
  readonly issuer: string;
  readonly clientId: string;
  /** Absent: a public client (PKCE only, token_endpoint_auth_method none). */
  readonly clientSecret?: string;
  /** Where the provider sends the browser back: <external URL>/ui/oidc/callback. */
  readonly redirectUrl: string;
  /** @default ["openid", "profile", "email"] */
  readonly scopes?: readonly string[];
  /** Shown on the sign-in button. @default the issuer's host */
  readonly providerName?: string;
  /** Claim (dotted path) holding the groups, as for access tokens. @default "groups" */
  readonly groupsClaim?: string;
  /** Leeway for the ID token's exp and iat. @default 30 */
  readonly clockToleranceSeconds?: number;
  /** Longest a console session lasts, whatever the ID token says. @default 43200 (12 h) */
  readonly maxSessionSeconds?: number;
}

export const CALLBACK_PATH = "/ui/oidc/callback";

type OidcConfig = Pick<
  GatewayConfig,
  | "oauthIssuer"
  | "oauthResource"
  | "oauthGroupsClaim"
  | "oauthClockSkewSeconds"
  | "consoleOidcClientId"
  | "consoleOidcClientSecret"
  | "consoleOidcRedirectUrl"
  | "consoleOidcScopes"
  | "consoleOidcProviderName"
>;

/** Pure: the console's provider sign-in from the gateway's settings, or undefined when off. */
export function consoleOidcSettingsOf(config: OidcConfig): ConsoleOidcSettings | undefined {
  if (!config.consoleOidcClientId) return undefined;
  if (!config.oauthIssuer)
    throw new ConfigError(
      "invalid setting --console-oidc-client-id: the console signs in with the OAuth issuer, but --oauth-issuer is not set",
    );
  const base = config.consoleOidcRedirectUrl ?? config.oauthResource;
  if (!base)
    throw new ConfigError(
      "invalid setting --console-oidc-redirect-url: needed when --oauth-resource does not give the gateway's public URL",
    );
  const scopes = config.consoleOidcScopes ?? [];
  if (!scopes.includes("openid"))
    throw new ConfigError("invalid setting --console-oidc-scopes: must include openid");
  return {
    issuer: config.oauthIssuer,
    clientId: config.consoleOidcClientId,
    ...(config.consoleOidcClientSecret ? { clientSecret: config.consoleOidcClientSecret } : {}),
    redirectUrl: config.consoleOidcRedirectUrl ?? new URL(CALLBACK_PATH, base).href,
    scopes,
    ...(config.consoleOidcProviderName ? { providerName: config.consoleOidcProviderName } : {}),
    groupsClaim: config.oauthGroupsClaim,
    clockToleranceSeconds: config.oauthClockSkewSeconds,
  };
}

/** How long a started sign-in may take at the provider. */
const TRANSACTION_SECONDS = 600;
const DISCOVERY_TIMEOUT_SECONDS = 10;
const DEFAULT_SCOPES = ["openid", "profile", "email"];

export class ConsoleOidc {
  readonly settings: ConsoleOidcSettings;
  #configuration: Promise<client.Configuration> | undefined;

  constructor(settings: ConsoleOidcSettings) {
    this.settings = settings;
  }

  get providerName(): string {
    return this.settings.providerName ?? new URL(this.settings.issuer).host;
  }

  /** Where the provider's logout sends the browser back to: the console. */
  get postLogoutUrl(): string {
    return new URL("/ui/", this.settings.redirectUrl).href;
  }

  /** The provider's metadata, discovered once; a failure is retried on the next sign-in. */
  #config(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret } = this.settings;
    this.#configuration ??= client
      .discovery(
        new URL(issuer),
        clientId,
        {
          ...(clientSecret ? { client_secret: clientSecret } : {}),
          [client.clockTolerance]: this.settings.clockToleranceSeconds ?? 30,
        },
        clientSecret ? client.ClientSecretPost(clientSecret) : client.None(),
        {
          timeout: DISCOVERY_TIMEOUT_SECONDS,
          // An http:// issuer is the operator's explicit choice (an in-cluster provider); the
          // resource server accepts it alike. https is used whenever the issuer says so.
          ...(new URL(issuer).protocol === "http:" ? { execute: [client.allowInsecureRequests] } : {}),
        },
      )
      .then((config) => {
        config.timeout = DISCOVERY_TIMEOUT_SECONDS;
        return config;
      });
    this.#configuration.catch(() => (this.#configuration = undefined));
    return this.#configuration;
  }

  /** A new sign-in: the provider URL to send the browser to, and what the callback must match. */
  async begin(nowSeconds = Date.now() / 1000): Promise<{ url: URL; transaction: SignInTransaction }> {
    let config: client.Configuration;
    try {
      config = await this.#config();
    } catch (error) {
      throw signInErrorOf(error, this.settings.issuer);
    }
    const verifier = client.randomPKCECodeVerifier();
    const transaction: SignInTransaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier,
      exp: Math.floor(nowSeconds) + TRANSACTION_SECONDS,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUrl,
      scope: [...(this.settings.scopes ?? DEFAULT_SCOPES)].join(" "),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state: transaction.state,
      nonce: transaction.nonce,
    });
    return { url, transaction };
  }

  /** The callback: checks everything, exchanges the code, and returns who signed in. */
  async finish(callbackUrl: URL, transaction: SignInTransaction): Promise<ConsoleIdentity> {
    try {
      const config = await this.#config();
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: transaction.verifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
      const payload = tokens.claims();
      if (!payload) throw new SignInError("Sign-in refused", "the provider sent no ID token", 502);
      const { clientId: _azp, ...claims } = claimsOf(payload, this.settings.groupsClaim ?? "groups");
      const maxExp = Math.floor(Date.now() / 1000) + (this.settings.maxSessionSeconds ?? 12 * 3600);
      return {
        sid: randomBytes(16).toString("base64url"),
        ...claims,
        // What the provider granted this sign-in (an ID token carries no scope claim).
        scopes: tokens.scope?.split(" ").filter(Boolean) ?? [],
        // The session ends with the ID token (or the cap): signing in again is one redirect.
        exp: Math.min(payload.exp, maxExp),
        ...(tokens.id_token ? { idToken: tokens.id_token } : {}),
      };
    } catch (error) {
      throw signInErrorOf(error, this.settings.issuer);
    }
  }

  /**
   * RP-initiated logout: the provider's end_session_endpoint with the ID token
   * as hint, or undefined when the provider advertises none (or cannot be reached
   * now: the local session is gone either way).
   */
  async logoutUrl(identity: ConsoleIdentity): Promise<string | undefined> {
    const config = await this.#config().catch(() => undefined);
    if (!config?.serverMetadata().end_session_endpoint) return undefined;
    return client
      .buildEndSessionUrl(config, {
        post_logout_redirect_uri: this.postLogoutUrl,
        ...(identity.idToken ? { id_token_hint: identity.idToken } : {}),
      })
      .toString();
  }
}
