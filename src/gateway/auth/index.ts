/** Who may call what: API keys, OAuth access tokens, policy by identity, forwarded users. */
export { KeyStore, type KeyMatch } from "./keys.ts";
export { ANONYMOUS, type CallerIdentity, type Principal } from "./principal.ts";
export { Gate, type AuthOutcome, type Refusal } from "./gate.ts";
export { TokenVerifier, type OAuthSettings, type TokenClaims, type UserClaims } from "./oauth.ts";
export { Policy } from "./policy.ts";
export { FORWARDED_HEADERS } from "./forwarded.ts";
export { authRoutes, resourceMetadataUrl } from "./metadata.ts";
export { IdentitySigner, IDENTITY_ISSUER, IDENTITY_JWKS_PATH } from "./identity-token.ts";
