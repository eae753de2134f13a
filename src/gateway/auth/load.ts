/**
 * The gate from the gateway's settings: API keys and policy read at boot
 * (a broken file stops the start, naming the setting) and again whenever
 * their file changes; a broken edit later keeps the last good version and
 * says why in the log, so a typo in a ConfigMap never locks everyone out.
 */
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { ConfigError } from "../../config/index.ts";
import type { Logger } from "../../log.ts";
import { messageOf, watchPath, type PathWatch } from "../../util/index.ts";
import type { GatewayConfig } from "../config.ts";
import type { SecretRedactor } from "../secrets/index.ts";
import { Gate } from "./gate.ts";
import { KeyStore } from "./keys.ts";
import { TokenVerifier } from "./oauth.ts";
import { Policy } from "./policy.ts";

type AuthConfig = Pick<
  GatewayConfig,
  | "apiKeys"
  | "forwardedUserKeys"
  | "policyFile"
  | "oauthIssuer"
  | "oauthResource"
  | "oauthAudience"
  | "oauthRequiredScopes"
  | "oauthGroupsClaim"
  | "oauthJwksUrl"
  | "oauthClockSkewSeconds"
>;

function errorText(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === "ENOENT") return `${(error as { path?: string }).path ?? "path"} does not exist`;
  if (code === "EACCES") return `${(error as { path?: string }).path ?? "path"} is not readable`;
  return messageOf(error);
}

let generation = 0;

async function loadPolicy(path: string): Promise<Policy> {
  generation += 1;
  return Policy.fromEntries(parse(await readFile(path, "utf8")), path, String(generation));
}

/** Pure: the verifier of the OAuth settings, or undefined when OAuth is off. */
export function tokenVerifierOf(config: AuthConfig): TokenVerifier | undefined {
  if (!config.oauthIssuer && !config.oauthResource) return undefined;
  if (!config.oauthIssuer || !config.oauthResource)
    throw new ConfigError(
      "invalid setting --oauth-issuer: OAuth needs both --oauth-issuer and --oauth-resource",
    );
  return new TokenVerifier({
    issuer: config.oauthIssuer,
    resource: config.oauthResource,
    audience: config.oauthAudience,
    requiredScopes: config.oauthRequiredScopes,
    groupsClaim: config.oauthGroupsClaim,
    ...(config.oauthJwksUrl ? { jwksUri: config.oauthJwksUrl } : {}),
    clockToleranceSeconds: config.oauthClockSkewSeconds,
  });
}

export interface LoadedGate {
  readonly gate: Gate;
  /** Stops watching the files. */
  readonly close: () => void;
}

export async function loadGate(
  config: AuthConfig,
  deps: { readonly logger: Logger; readonly secrets: SecretRedactor },
): Promise<LoadedGate> {
  const oauth = tokenVerifierOf(config);
  const boot = async <T>(flag: string, load: () => Promise<T>): Promise<T> => {
    try {
      return await load();
    } catch (cause) {
      throw new ConfigError(`invalid setting --${flag}: ${errorText(cause)}`, { cause });
    }
  };
  const marked = config.forwardedUserKeys ?? [];
  const loadKeys = async (path: string) => (await KeyStore.load(path)).withForwardedUser(marked);
  if (!config.apiKeys && marked.length > 0)
    throw new ConfigError("invalid setting --forwarded-user-keys: names keys, but --api-keys is not set");
  const keys = config.apiKeys ? await boot("api-keys", () => loadKeys(config.apiKeys!)) : KeyStore.empty();
  const policy = config.policyFile
    ? await boot("policy-file", () => loadPolicy(config.policyFile!))
    : undefined;
  const gate = new Gate({ keys, ...(oauth ? { oauth } : {}), ...(policy ? { policy } : {}) });
  const { logger, secrets } = deps;
  secrets.set("api keys", keys.plainKeys());

  const watches: PathWatch[] = [];
  const reloadOn = async (path: string, what: string, apply: () => Promise<void>) => {
    const onError = (error: Error) => logger.error({ err: error }, `${what} watch failed`);
    const reload = () =>
      void apply().then(
        () => logger.info({ path }, `${what} reloaded`),
        (error: unknown) =>
          logger.error({ path, error: errorText(error) }, `${what} invalid; keeping the last good one`),
      );
    watches.push(await watchPath(path, reload, { onError }));
  };
  if (config.apiKeys) {
    const path = config.apiKeys;
    await reloadOn(path, "API keys", async () => {
      const next = await loadKeys(path);
      // Masked before anyone can use them.
      secrets.set("api keys", [...new Set([...gate.keys.plainKeys(), ...next.plainKeys()])]);
      gate.setKeys(next);
    });
  }
  if (config.policyFile) {
    const path = config.policyFile;
    await reloadOn(path, "policy", async () => gate.setPolicy(await loadPolicy(path)));
  }
  return { gate, close: () => watches.forEach((w) => w.close()) };
}
