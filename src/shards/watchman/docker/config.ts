import { z } from "zod";

/**
 * Settings of the Watchman shard's Docker backend (flags of
 * `shardgate shard watchman --backend docker`, or SHARDGATE_* variables).
 * It reads one Docker Engine, only through a GET-only socket proxy.
 */
export const dockerBackendConfigSchema = z.object({
  dockerHost: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Docker API of a GET-only socket proxy, tcp://HOST:PORT (default $DOCKER_HOST); " +
        "a unix:// socket only with --allow-raw-socket",
    ),
  // A boolean passes too: the shard parses the CLI's already parsed config again.
  allowRawSocket: z
    .union([z.boolean(), z.stringbool()])
    .default(false)
    .describe(
      "allow a raw Docker socket (unix://...), or an engine port that accepts more than GET, instead of a GET-only " +
        "socket proxy: whoever controls the shard then controls the host",
    ),
  dockerTimeoutSeconds: z.coerce
    .number()
    .min(1)
    .max(300)
    .default(30)
    .describe("how long one Docker API request may take (a log read included)"),
});
export type DockerBackendConfig = z.infer<typeof dockerBackendConfigSchema>;
