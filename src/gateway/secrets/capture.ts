/**
 * The registry as the catalogue sees it, with every spec.auth header value it
 * resolves (read from a Secret, a secrets directory or the environment)
 * recorded as a secret, so the values are known before any answer could echo
 * them.
 */
import type { Registry, ShardTarget } from "../registry/types.ts";
import { headerSecrets, type SecretRedactor } from "./redactor.ts";

export function capturingSecrets(registry: Registry, secrets: SecretRedactor): Registry {
  const resolveAuth = async (target: ShardTarget) => {
    const headers = await registry.resolveAuth(target);
    secrets.set(`auth ${target.key}`, headerSecrets(headers));
    return headers;
  };
  return new Proxy(registry, {
    get(target, property) {
      if (property === "resolveAuth") return resolveAuth;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
