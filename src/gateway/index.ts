export { buildGatewayApp, type Gateway, type GatewayOptions, type ShutdownOptions } from "./app.ts";
export type { DrainPhase } from "./drain.ts";
export { Gate, IdentitySigner, KeyStore, Policy, TokenVerifier, type Principal } from "./auth/index.ts";
export {
  FileRegistry,
  parseShardsFile,
  ShardsFileError,
  secretEnvName,
  type FileRegistryOptions,
} from "./registry/file.ts";
export { toShardRecord, shardKey } from "./registry/record.ts";
export type { Registry, ShardRecord, ShardTarget, GatewayStatusReport } from "./registry/types.ts";
export { RegistryReadOnlyError } from "./registry/types.ts";
export { nameTools, shardPrefix, type NamingInput, type NamingResult } from "./catalogue/naming.ts";
export { buildCatalogue, type Catalogue, type ExposedTool } from "./catalogue/build.ts";
export { SessionSigner } from "./mcp/session.ts";
export { STREAMABLE_VERSIONS } from "./mcp/dispatch.ts";
