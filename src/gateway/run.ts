/**
 * The process around the app: registry from config, listen, drain on SIGTERM
 * or SIGINT and exit 0 when done (a second signal exits at once).
 */
import { readFile } from "node:fs/promises";
import { ConfigError } from "../config/index.ts";
import { createLogger } from "../log.ts";
import { buildGatewayApp } from "./app.ts";
import { IdentitySigner } from "./auth/index.ts";
import { loadGate } from "./auth/load.ts";
import type { GatewayConfig } from "./config.ts";
import { FileRegistry } from "./registry/file.ts";
import type { Registry } from "./registry/types.ts";
import { exitOnStopSignals, messageOf } from "../util/index.ts";
import { SecretRedactor } from "./secrets/index.ts";
import { consoleOidcSettingsOf } from "./ui/oidc.ts";

function errorText(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === "ENOENT") return `${(error as { path?: string }).path ?? "path"} does not exist`;
  if (code === "EACCES") return `${(error as { path?: string }).path ?? "path"} is not readable`;
  return messageOf(error);
}

export async function runGateway(config: GatewayConfig): Promise<void> {
  // Every line passes the secret mask: an upstream error or a stack may quote a key.
  const secrets = new SecretRedactor();
  const logger = createLogger({ name: "gateway", rewrite: (line) => secrets.redact(line) });
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
  if (!sessionSecret && config.sessionSecretFile) {
    try {
      sessionSecret = (await readFile(config.sessionSecretFile, "utf8")).trim();
    } catch (cause) {
      throw new ConfigError(`invalid setting --session-secret-file: ${errorText(cause)}`, { cause });
    }
  }
  if (sessionSecret !== undefined && sessionSecret.length < 16) {
    throw new ConfigError(
      "invalid setting --session-secret-file: the secret must hold at least 16 characters",
    );
  }
  const auth = await loadGate(config, { logger, secrets });
  const consoleOidc = consoleOidcSettingsOf(config);
  const identitySigner = await IdentitySigner.load(config.identityKeyFile).catch((cause: unknown) => {
    throw new ConfigError(`invalid setting --identity-key-file: ${errorText(cause)}`, { cause });
  });

  const { openActivityStore } = await import("./activity-store/index.ts");
  const gateway = await buildGatewayApp({
    registry,
    logger,
    secrets,
    sessionSecret,
    gate: auth.gate,
    identitySigner,
    ...(consoleOidc ? { consoleOidc } : {}),
    allowedOrigins: config.allowedOrigins,
    corsOrigins: config.corsOrigins,
    maxBodyBytes: config.maxBodyBytes,
    maxBatchSize: config.maxBatchSize,
    maxInFlightPerSession: config.maxInFlightPerSession,
    maxInFlightPerKey: config.maxInFlightPerKey,
    maxNestingDepth: config.maxNestingDepth,
    callLog: config.callLog,
    bareNames: config.bareNames,
    refreshIntervalMs: config.refreshIntervalSeconds * 1000,
    activity: {
      store: openActivityStore({ postgresUrl: config.activityPostgresUrl, sqlitePath: config.activityDb }),
      retention: {
        maxAgeMs: config.activityMaxAgeHours * 3600 * 1000,
        maxEntries: config.activityMaxEntries,
      },
    },
  });
  gateway.app.addHook("onClose", async () => auth.close());
  await gateway.start();
  const address = await gateway.app.listen({ host: config.host, port: config.port });
  const { gate } = auth;
  const oauth = gate.oauth
    ? { issuer: gate.oauth.settings.issuer, resource: gate.oauth.settings.resource }
    : undefined;
  const consoleSignIn = consoleOidc
    ? { clientId: consoleOidc.clientId, redirectUrl: consoleOidc.redirectUrl }
    : undefined;
  logger.info(
    { address, mode: registry.mode, keys: gate.keys.size, oauth, consoleSignIn },
    "gateway listening",
  );

  // First signal: drain (shutdown()). Second: exit at once, work in flight or not.
  exitOnStopSignals(
    () =>
      gateway.shutdown({
        delayMs: config.shutdownDelaySeconds * 1000,
        graceMs: config.shutdownGraceSeconds * 1000,
      }),
    logger,
  );
}
