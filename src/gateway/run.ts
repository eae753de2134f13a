/** The process around the app: registry from config, listen, stop on SIGTERM. */
import { readFile } from "node:fs/promises";
import { ConfigError } from "../config/index.ts";
import { createLogger } from "../log.ts";
import { buildGatewayApp } from "./app.ts";
import { KeyStore } from "./auth.ts";
import type { GatewayConfig } from "./config.ts";
import { FileRegistry } from "./registry/file.ts";
import type { Registry } from "./registry/types.ts";

export async function runGateway(config: GatewayConfig): Promise<void> {
  const logger = createLogger({ name: "gateway" });
  let registry: Registry;
  if (config.shardsFile) {
    registry = new FileRegistry({
      path: config.shardsFile,
      logger,
      requireReady: config.registryRequireReady ?? false,
      secretsDir: config.secretsDir,
    });
  } else {
    const { loadKubeConfig, KubeClient } = await import("../kube/index.ts");
    const { KubeRegistry } = await import("./registry/kube.ts");
    registry = new KubeRegistry({
      client: new KubeClient(loadKubeConfig({ kubeconfig: config.kubeconfig })),
      logger,
      namespaces: config.namespaces,
      requireReady: config.registryRequireReady ?? true,
    });
  }
  let sessionSecret = config.sessionSecret;
  if (!sessionSecret && config.sessionSecretFile)
    sessionSecret = (await readFile(config.sessionSecretFile, "utf8")).trim();
  if (sessionSecret !== undefined && sessionSecret.length < 16) {
    throw new ConfigError(
      "invalid setting --session-secret-file: the secret must hold at least 16 characters",
    );
  }
  const keys = config.apiKeys ? await KeyStore.load(config.apiKeys) : KeyStore.empty();

  const gateway = await buildGatewayApp({
    registry,
    logger,
    sessionSecret,
    keys,
    allowedOrigins: config.allowedOrigins,
    corsOrigins: config.corsOrigins,
    maxBodyBytes: config.maxBodyBytes,
    bareNames: config.bareNames,
    refreshIntervalMs: config.refreshIntervalSeconds * 1000,
  });
  await gateway.start();
  const address = await gateway.app.listen({ host: config.host, port: config.port });
  logger.info({ address, mode: registry.mode, keys: keys.size }, "gateway listening");

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, "stopping");
      resolve();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  await gateway.close();
}
