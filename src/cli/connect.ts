import type { Command } from "commander";
import type { Logger } from "../log.ts";
import { addConfigOptions, ConfigError, resolveConfig } from "../config/index.ts";
import { messageOf } from "../util/message.ts";
import { connectConfigSchema, type ConnectConfig } from "../connect/config.ts";

export function register(program: Command): void {
  const command = program
    .command("connect")
    .description(
      "serve a shardgate gateway as a stdio MCP server (Claude Desktop and other stdio-only clients)",
    )
    .argument(
      "<gateway-url>",
      "the gateway, e.g. https://mcp.example.lan (its /mcp) or the full endpoint URL",
    )
    .addHelpText(
      "after",
      "\nstdout speaks MCP; logs go to stderr. Credentials: SHARDGATE_API_KEY or --api-key-file; without a key,\n" +
        "a gateway that asks for OAuth gets a browser login (tokens cached under --config-dir, mode 0600).\n" +
        "\nExample:\n  SHARDGATE_API_KEY=... shardgate connect https://mcp.example.lan\n" +
        "  shardgate connect https://mcp.example.lan --login   # log in once in a terminal",
    );
  addConfigOptions(command, connectConfigSchema).action(
    async (gatewayUrl: string, flags: Record<string, unknown>, self: Command) => {
      const config = resolveConfig(connectConfigSchema, flags);
      const { createLogger } = await import("../log.ts");
      const logger = createLogger({ name: "connect", stream: "stderr" });
      if (self.getOptionValueSource("apiKey") === "cli") {
        logger.warn("--api-key is visible in the process list; prefer SHARDGATE_API_KEY or --api-key-file");
      }
      await run(gatewayUrl, config, logger);
    },
  );
}

async function run(gatewayUrl: string, config: ConnectConfig, logger: Logger): Promise<void> {
  const [{ gatewayEndpoint, isCleartextRemote, readApiKey, runConnect }, { exitOnStopSignals }, oauth] =
    await Promise.all([
      import("../connect/index.ts"),
      import("../util/index.ts"),
      import("../connect/oauth/index.ts"),
    ]);
  // A bad URL or key source is a setting's fault: exit 2 with the message, like every other setting.
  const [url, apiKey] = await Promise.all([
    asConfigError(async () => gatewayEndpoint(gatewayUrl)),
    asConfigError(() => readApiKey(config.apiKey, config.apiKeyFile)),
  ]);
  const login = oauth.oauthLogin(url, config, logger);
  if (config.logout) {
    await login.logout();
    return;
  }
  if (config.login) {
    try {
      await login.login();
    } catch (error) {
      logger.error({ err: messageOf(error), cause: messageOf((error as Error).cause ?? "") }, "login failed");
      process.exit(1);
    }
    logger.info("logged in; tokens cached");
    return;
  }
  if (isCleartextRemote(url)) {
    logger.warn({ url: url.href }, "plain http to another host: credentials cross the network unencrypted");
  }
  const auth = apiKey !== undefined ? { token: () => Promise.resolve(apiKey) } : login.authProvider();
  logger.info(
    { gateway: url.href, auth: apiKey !== undefined ? "api key" : "oauth when asked" },
    "shardgate connect",
  );
  const running = await runConnect({
    url,
    auth,
    logger,
    reconnectTimeoutMs: config.reconnectTimeoutSeconds * 1000,
  });
  exitOnStopSignals(() => running.stop(), logger);
  await running.done;
  process.exit(0);
}

async function asConfigError<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new ConfigError(messageOf(error), { cause: error });
  }
}
