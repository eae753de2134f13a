/**
 * Secret removal shared by the gateway and the shards: exact literal
 * replacement (the gateway's known keys and auth values) and the scan for
 * well-known secret formats (secretlint's recommended rules). Imports nothing
 * of shardgate's, so any layer may use it.
 */
export { literalMatcher, mapStrings, type LiteralMatcher } from "./literals.ts";
export { scanForSecrets, SECRET_MASK, type ScanFinding, type SecretScanMode } from "./scan.ts";
