/**
 * The real Traefik binary (built by hack/testbin) on loopback free ports.
 *
 * Choices:
 *  - Three entrypoints on 127.0.0.1: "web" (HTTP), "websecure" (TLS, Traefik's
 *    default certificate unless routes bring their own) and "traefik", which
 *    serves the API (`--api.insecure`) and /ping, so readiness is a GET.
 *  - The kubernetescrd provider reads KUBECONFIG when it is set (Traefik's
 *    pkg/provider/kubernetes/crd/kubernetes.go), which lets it use the
 *    harness's client-certificate kubeconfigs as they are; its
 *    endpoint/token/certAuthFilePath flags only support bearer tokens. Pass
 *    a `userKubeconfig()` to run it with least privilege.
 *  - KUBERNETES_SERVICE_HOST/PORT are removed from its environment: with them
 *    Traefik would try the in-cluster client first.
 *  - No update checks or usage reports: the machine reaches loopback only.
 *  - DEBUG logs go to a file; `logs()` returns them for assertions and errors.
 */
import { mkdtemp } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binary } from "./binaries.ts";
import { freePort, httpGet } from "./net.ts";
import { sleep } from "../../src/util/index.ts";
import { spawnManaged, stopAndRemove } from "./process.ts";

export interface TraefikOptions {
  /** Directory for the file provider, watched for changes. @default no file provider */
  readonly fileDir?: string;
  /** Kubeconfig for the kubernetescrd provider. @default no kubernetescrd provider */
  readonly kubeconfig?: string;
  /** Namespaces the kubernetescrd provider watches. @default all */
  readonly namespaces?: readonly string[];
  /** Let IngressRoutes point at ExternalName Services (how tests reach loopback backends without kubelets). @default false */
  readonly allowExternalNameServices?: boolean;
  /** More command-line flags, e.g. `--accesslog=true`. */
  readonly extraArgs?: readonly string[];
  /** How long to wait for /ping. @default 30000 */
  readonly startTimeoutMs?: number;
}

export interface Traefik {
  /** Base URL of the API entrypoint ("traefik"): `${apiUrl}/api/http/routers`, `${apiUrl}/ping`. */
  readonly apiUrl: string;
  /** Base URL of the "web" entrypoint (plain HTTP). */
  readonly webUrl: string;
  /** Base URL of the "websecure" entrypoint (TLS with Traefik's self-signed default certificate). */
  readonly websecureUrl: string;
  readonly ports: { readonly web: number; readonly websecure: number; readonly api: number };
  /** Everything Traefik logged so far (DEBUG level). */
  logs(): string;
  /** Stops Traefik and removes its scratch directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startTraefik(opts: TraefikOptions = {}): Promise<Traefik> {
  const traefikBin = binary("traefik");
  const dir = await mkdtemp(join(tmpdir(), "shardgate-traefik-"));
  const [web, websecure, api] = await Promise.all([freePort(), freePort(), freePort()]);
  const args = [
    `--entrypoints.web.address=127.0.0.1:${web}`,
    `--entrypoints.websecure.address=127.0.0.1:${websecure}`,
    "--entrypoints.websecure.http.tls=true",
    `--entrypoints.traefik.address=127.0.0.1:${api}`,
    "--api.insecure=true",
    "--ping=true",
    "--log.level=DEBUG",
    // Plain text, so tests can search the log.
    "--log.nocolor=true",
    "--global.checknewversion=false",
    "--global.sendanonymoususage=false",
  ];
  if (opts.fileDir !== undefined) {
    args.push(`--providers.file.directory=${opts.fileDir}`, "--providers.file.watch=true");
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.KUBERNETES_SERVICE_PORT;
  delete env.KUBECONFIG;
  if (opts.kubeconfig !== undefined) {
    env.KUBECONFIG = opts.kubeconfig;
    args.push("--providers.kubernetescrd=true");
    if (opts.namespaces && opts.namespaces.length > 0) {
      args.push(`--providers.kubernetescrd.namespaces=${opts.namespaces.join(",")}`);
    }
    if (opts.allowExternalNameServices) {
      args.push("--providers.kubernetescrd.allowExternalNameServices=true");
    }
  }
  args.push(...(opts.extraArgs ?? []));

  const logPath = join(dir, "traefik.log");
  const proc = spawnManaged("traefik", traefikBin, args, { logPath, env, cwd: dir, cleanupDir: dir });
  const apiUrl = `http://127.0.0.1:${api}`;
  const stop = stopAndRemove(proc, dir);

  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit) {
      const tail = proc.logTail(40);
      await stop();
      throw new Error(`traefik exited during startup (code ${proc.exit.code}); last log lines:\n${tail}`);
    }
    try {
      if ((await httpGet(`${apiUrl}/ping`)).status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      const tail = proc.logTail(40);
      await stop();
      throw new Error(`traefik did not answer /ping within ${timeoutMs / 1000}s; last log lines:\n${tail}`);
    }
    await sleep(100);
  }

  return {
    apiUrl,
    webUrl: `http://127.0.0.1:${web}`,
    websecureUrl: `https://127.0.0.1:${websecure}`,
    ports: { web, websecure, api },
    logs: () => {
      try {
        return readFileSync(logPath, "utf8");
      } catch {
        return "";
      }
    },
    stop,
  };
}
