/**
 * What `shardgate connect` remembers per gateway for OAuth: the client
 * registration (and the loopback port its redirect URI names), the tokens
 * with their expiry, and the discovery result. One JSON file per gateway in
 * the user's config dir (`$XDG_CONFIG_HOME/shardgate/connect/`), directory
 * 0700 and file 0600, replaced atomically (a crash never leaves half a file,
 * and no moment exists where the file is readable by others).
 */
import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type {
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from "@modelcontextprotocol/client";

export interface CachedTokens {
  readonly tokens: StoredOAuthTokens;
  /** Epoch ms when the access token expires (from expires_in at the time it was saved). */
  readonly expiresAt?: number;
  /** Its lifetime in ms (expires_in), for the refresh margin. */
  readonly lifetimeMs?: number;
}

export interface CacheContent {
  readonly gateway: string;
  readonly client?: StoredOAuthClientInformation;
  /** The port of the redirect URI the client was registered with. */
  readonly redirectPort?: number;
  readonly tokens?: CachedTokens;
  readonly discovery?: OAuthDiscoveryState;
}

/** `$XDG_CONFIG_HOME/shardgate`, else `~/.config/shardgate` (the XDG default). */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith("/")
      ? env.XDG_CONFIG_HOME
      : join(homedir(), ".config");
  return join(base, "shardgate");
}

/** The cache file of one gateway endpoint: readable name, hashed so any URL is a safe file name. */
export function cacheFile(configDir: string, gateway: URL): string {
  const digest = createHash("sha256").update(gateway.href).digest("hex").slice(0, 16);
  const name =
    `${gateway.hostname}_${gateway.port || (gateway.protocol === "https:" ? "443" : "80")}`.replace(
      /[^A-Za-z0-9._-]/g,
      "_",
    );
  return join(configDir, "connect", `${name}-${digest}.json`);
}

export class TokenStore {
  readonly path: string;
  readonly #gateway: string;
  #content: CacheContent | undefined;

  constructor(configDir: string, gateway: URL) {
    this.path = cacheFile(configDir, gateway);
    this.#gateway = gateway.href;
  }

  async read(): Promise<CacheContent> {
    if (this.#content) return this.#content;
    let content: CacheContent = { gateway: this.#gateway };
    try {
      const parsed = JSON.parse(await readFile(this.path, "utf8")) as CacheContent;
      // A file of another gateway (hash collision, hand edit) is ignored rather than trusted.
      if (parsed.gateway === this.#gateway) content = parsed;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new Error(`token cache ${this.path}: unreadable (delete it to log in again)`, { cause: error });
      }
    }
    this.#content = content;
    return content;
  }

  async update(change: (content: CacheContent) => CacheContent): Promise<void> {
    const next = change(await this.read());
    this.#content = next;
    const dir = join(this.path, "..");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.path);
  }

  async remove(): Promise<void> {
    this.#content = undefined;
    await rm(this.path, { force: true });
  }
}
