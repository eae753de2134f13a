/**
 * Settings of `shardgate connect` (flags and SHARDGATE_* variables, one
 * schema: see src/config). The API key is a setting like the others so that
 * SHARDGATE_API_KEY is documented, but a key given as a flag is visible in
 * the process list: the CLI warns when it comes from there.
 */
import { z } from "zod";

export const connectConfigSchema = z.object({
  apiKey: z
    .string()
    .min(1)
    .optional()
    .describe("gateway API key; prefer the variable or --api-key-file (a flag shows in the process list)"),
  apiKeyFile: z
    .string()
    .min(1)
    .optional()
    .describe("file holding the gateway API key (a mounted secret, a password manager's output)"),
  login: z
    .stringbool()
    .default(false)
    .describe("log in to the gateway's authorization server in the browser, cache the tokens and exit"),
  logout: z
    .stringbool()
    .default(false)
    .describe("forget the cached OAuth tokens and client of this gateway, then exit"),
  clientId: z
    .string()
    .min(1)
    .optional()
    .describe("OAuth client id registered for shardgate connect (default: dynamic client registration)"),
  scope: z
    .string()
    .min(1)
    .optional()
    .describe("OAuth scopes to ask for (default: what the gateway's resource metadata lists)"),
  redirectPort: z.coerce
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(0)
    .describe(
      "loopback port of the OAuth redirect (0: the one saved with the client registration, else a free one)",
    ),
  openBrowser: z
    .stringbool()
    .default(true)
    .describe("open the authorization URL in the browser (it is printed on stderr either way)"),
  configDir: z
    .string()
    .min(1)
    .optional()
    .describe(
      "where OAuth tokens are cached (default: $XDG_CONFIG_HOME/shardgate, else ~/.config/shardgate)",
    ),
  loginTimeoutSeconds: z.coerce
    .number()
    .int()
    .min(1)
    .default(300)
    .describe("how long a login waits for the browser to come back"),
  reconnectTimeoutSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .default(30)
    .describe("how long a request waits for an unreachable or restarting gateway before failing"),
});

export type ConnectConfig = z.infer<typeof connectConfigSchema>;
