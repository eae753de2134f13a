/**
 * The identity tests' shared pieces: Open WebUI's key (marked to carry the
 * forwarded user), the headers of a call made for one of its users, a gate
 * built from key entries, and the kit shard whose tool and resource answer
 * with the verified caller they were given.
 */
import { z } from "zod";
import { Gate, type GatewayOptions, KeyStore } from "../../src/gateway/index.ts";
import { defineShard, resource, tool } from "../../src/shard-kit/index.ts";
import { startGateway, type TestGateway } from "./gateway-fixtures.ts";

/** Open WebUI's API key in the identity tests. */
export const OWUI_KEY = "owui-key-0123456789abcdef";

/** The key entry for Open WebUI: its calls carry the forwarded user. */
export const OWUI_ENTRY = { id: "owui", key: OWUI_KEY, forwardedUser: true } as const;

/** The forwarded user of an Open WebUI call (each field sent as its x-openwebui-user-* header). */
export interface OwuiUser {
  readonly id?: string;
  readonly email?: string;
  readonly groups?: string;
}

/** The headers of a call Open WebUI makes for `user`, on its key. */
export function owuiUserHeaders(user: OwuiUser, key: string = OWUI_KEY): Record<string, string> {
  return {
    authorization: `Bearer ${key}`,
    ...(user.id !== undefined && { "x-openwebui-user-id": user.id }),
    ...(user.email !== undefined && { "x-openwebui-user-email": user.email }),
    ...(user.groups !== undefined && { "x-openwebui-user-groups": user.groups }),
  };
}

/** A gate that knows exactly these keys. */
export function gateWithKeys(...entries: readonly Record<string, unknown>[]): Gate {
  return new Gate({ keys: KeyStore.fromEntries(entries) });
}

/** A test gateway over `shards` whose gate knows exactly the keys `entries` (the other options as startGateway takes them). */
export function startGatewayWithKeys(
  shards: Record<string, Record<string, unknown>>,
  entries: readonly Record<string, unknown>[],
  options: Omit<GatewayOptions, "registry" | "gate"> = {},
): Promise<TestGateway> {
  return startGateway(shards, { ...options, gate: gateWithKeys(...entries) });
}

/** A kit shard ("notes") whose tool `whoami` and resource `notes://caller` answer with the caller they were given, and count their runs. */
export function whoamiShard() {
  const runs = { count: 0 };
  const shard = defineShard({
    name: "notes",
    version: "0.1.0",
    tools: [
      tool({
        name: "whoami",
        description: "Says who is calling",
        input: z.object({}),
        handler: (_args, ctx) => {
          runs.count++;
          return { caller: ctx.caller ?? null };
        },
      }),
    ],
    resources: [
      resource({
        name: "caller",
        uri: "notes://caller",
        read: async (ctx) => {
          runs.count++;
          return { caller: ctx.caller ?? null };
        },
      }),
    ],
  });
  return { shard, runs };
}
