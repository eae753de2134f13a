/**
 * Where the apiserver is and how to authenticate: read from a kubeconfig
 * file or the in-cluster service account. Written here rather than taken
 * from @kubernetes/client-node, whose import loads its whole generated API
 * (about 85 MiB of resident memory and most of a second at start) for a job
 * of a few dozen lines. Auth plugins (exec, auth-provider) are the exception:
 * for those the client-node KubeConfig is loaded on first use and asked for
 * the headers, so every kubeconfig that worked before still works.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";

export interface LoadKubeConfigOptions {
  /**
   * Path of a kubeconfig file.
   * @default $KUBECONFIG, then the in-cluster service account, then ~/.kube/config
   */
  readonly kubeconfig?: string;
}

/** Connection settings of one apiserver, as KubeClient needs them. */
export interface KubeAccess {
  /** https://host:port[/prefix] */
  readonly server: string;
  readonly tls: {
    readonly ca?: Buffer;
    readonly cert?: Buffer;
    readonly key?: Buffer;
    readonly rejectUnauthorized: boolean;
    readonly servername?: string;
  };
  /** Auth headers of the next request; files are read again (tokens rotate). */
  headers(): Promise<Record<string, string>>;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const SERVICE_ACCOUNT_TOKEN = `${SERVICE_ACCOUNT_DIR}/token`;

interface NamedEntry<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

interface RawCluster {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
}

interface RawUser {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  "auth-provider"?: unknown;
}

interface RawConfig {
  "current-context"?: string;
  clusters?: Array<NamedEntry<RawCluster> & { cluster?: RawCluster }>;
  users?: Array<NamedEntry<RawUser> & { user?: RawUser }>;
  contexts?: Array<NamedEntry<unknown> & { context?: { cluster?: string; user?: string } }>;
}

/** A file path or inline base64 data, as kubeconfigs give certificates. */
function material(base: string, file: string | undefined, data: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, "base64");
  if (file) return readFileSync(isAbsolute(file) ? file : join(base, file));
  return undefined;
}

/** Several files (KUBECONFIG=a:b) merge as kubectl does: the first definition of a name wins. */
function readKubeconfigs(paths: readonly string[]): { config: RawConfig; dirOf: Map<object, string> } {
  const merged: Required<Pick<RawConfig, "clusters" | "users" | "contexts">> & RawConfig = {
    clusters: [],
    users: [],
    contexts: [],
  };
  const dirOf = new Map<object, string>();
  for (const path of paths) {
    const raw = (parse(readFileSync(path, "utf8")) ?? {}) as RawConfig;
    merged["current-context"] ??= raw["current-context"] || undefined;
    for (const key of ["clusters", "users", "contexts"] as const) {
      for (const entry of raw[key] ?? []) {
        if ((merged[key] as NamedEntry<unknown>[]).some((e) => e.name === entry.name)) continue;
        (merged[key] as NamedEntry<unknown>[]).push(entry);
        dirOf.set(entry, dirname(path));
      }
    }
  }
  return { config: merged, dirOf };
}

function fromKubeconfigFiles(paths: readonly string[]): KubeAccess {
  const { config, dirOf } = readKubeconfigs(paths);
  const context = config.contexts?.find((c) => c.name === config["current-context"])?.context;
  const clusterEntry = config.clusters?.find((c) => c.name === context?.cluster);
  const userEntry = config.users?.find((u) => u.name === context?.user);
  const cluster = clusterEntry?.cluster;
  if (!cluster?.server) {
    throw new Error("kubeconfig has no current cluster: pass --kubeconfig or set KUBECONFIG");
  }
  const user: RawUser = userEntry?.user ?? {};
  const clusterDir = (clusterEntry && dirOf.get(clusterEntry)) ?? ".";
  const userDir = (userEntry && dirOf.get(userEntry)) ?? ".";
  const tls = {
    ca: material(clusterDir, cluster["certificate-authority"], cluster["certificate-authority-data"]),
    cert: material(userDir, user["client-certificate"], user["client-certificate-data"]),
    key: material(userDir, user["client-key"], user["client-key-data"]),
    rejectUnauthorized: cluster["insecure-skip-tls-verify"] !== true,
    servername: cluster["tls-server-name"],
  };
  let headers: () => Promise<Record<string, string>>;
  if (user.exec || user["auth-provider"]) {
    headers = pluginHeaders(paths);
  } else if (user.tokenFile) {
    const file = isAbsolute(user.tokenFile) ? user.tokenFile : join(userDir, user.tokenFile);
    headers = async () => ({ authorization: `Bearer ${(await readFile(file, "utf8")).trim()}` });
  } else if (user.token) {
    const value = { authorization: `Bearer ${user.token}` };
    headers = () => Promise.resolve(value);
  } else if (user.username) {
    const basic = Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64");
    headers = () => Promise.resolve({ authorization: `Basic ${basic}` });
  } else {
    headers = () => Promise.resolve({});
  }
  return { server: cluster.server, tls, headers };
}

/** exec and auth-provider users: client-node runs the plugin (loaded only for them). */
function pluginHeaders(paths: readonly string[]): () => Promise<Record<string, string>> {
  let kc: Promise<KubeConfig> | undefined;
  return async () => {
    kc ??= import("@kubernetes/client-node").then(({ KubeConfig }) => {
      const config = new KubeConfig();
      if (paths.length === 1 && paths[0]) config.loadFromFile(paths[0]);
      else config.loadFromDefault();
      return config;
    });
    const opts: { headers?: Record<string, unknown> } = {};
    await (await kc).applyToHTTPSOptions(opts);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {}))
      if (typeof v === "string" || typeof v === "number") out[k] = String(v);
    return out;
  };
}

function inCluster(): KubeAccess {
  const host = process.env.KUBERNETES_SERVICE_HOST ?? "";
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  const ca = `${SERVICE_ACCOUNT_DIR}/ca.crt`;
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    tls: { ca: existsSync(ca) ? readFileSync(ca) : undefined, rejectUnauthorized: true },
    headers: async () => ({
      authorization: `Bearer ${(await readFile(SERVICE_ACCOUNT_TOKEN, "utf8")).trim()}`,
    }),
  };
}

/**
 * An explicit path wins; inside a pod (service account token mounted, no
 * KUBECONFIG) the in-cluster config is used; otherwise $KUBECONFIG (several
 * paths merge), then ~/.kube/config.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeAccess {
  try {
    if (options.kubeconfig) return fromKubeconfigFiles([options.kubeconfig]);
    const fromEnv = (process.env.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
    if (fromEnv.length === 0 && process.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN))
      return inCluster();
    const paths = fromEnv.length > 0 ? fromEnv : [join(homedir(), ".kube", "config")];
    const existing = paths.filter((p) => existsSync(p));
    if (existing.length === 0) {
      throw new Error("kubeconfig has no current cluster: pass --kubeconfig or set KUBECONFIG");
    }
    return fromKubeconfigFiles(existing);
  } catch (cause) {
    if (cause instanceof Error && cause.message.startsWith("kubeconfig has no current cluster")) throw cause;
    throw new Error(`cannot load kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ""}`, { cause });
  }
}
