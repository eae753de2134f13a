/** The Watchman shard's Docker backend: what the shard and the CLI import. */
export { createDockerBackend } from "./backend.ts";
export { dockerBackendConfigSchema, type DockerBackendConfig } from "./config.ts";
export { DockerHostError, parseDockerHost } from "./host.ts";
