/**
 * vitest globalSetup of the "integration" project: one real control plane
 * (etcd, kube-apiserver, kube-controller-manager) for the whole run, with
 * every CRD of crds/ and Traefik's CRDs installed and Established. Test files
 * reach it through test/harness/index.ts (`kubeConfig()`, `useNamespace()`...).
 * The teardown runs whether tests pass or fail; the process helpers kill the
 * components even when vitest itself dies.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { componentDir, repoRoot, testbinCacheDir, traefikCrdsPath } from "./binaries.ts";
import { startControlPlane } from "./control-plane.ts";

const run = promisify(execFile);

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin kubeconfig of the shared control plane (system:masters). */
    kubeconfig: string;
    /** https://127.0.0.1:<port> of its kube-apiserver. */
    server: string;
    /** CA certificate and key, so workers can mint user certificates (userKubeconfig). */
    caCertPath: string;
    caKeyPath: string;
    /** Its JSON-lines audit log of mutating requests (auditEvents). */
    auditLogPath: string;
    /** Its scratch directory (logs of every component are there). */
    controlPlaneDir: string;
    /** The testbin cache root and the per-component folders. */
    testbinDir: string;
    traefikDir: string;
    helmDir: string;
  }
}

/** YAML manifests to install before any test: crds/*.yaml (ours) and Traefik's. */
function crdFiles(): string[] {
  const files: string[] = [];
  const ours = join(repoRoot(), "crds");
  if (existsSync(ours)) {
    for (const name of readdirSync(ours).sort()) {
      if (/\.ya?ml$/.test(name)) files.push(join(ours, name));
    }
  }
  files.push(traefikCrdsPath());
  return files;
}

async function installCrds(kubeconfig: string, files: string[]): Promise<void> {
  const kubectl = async (args: string[]) => {
    try {
      await run("kubectl", ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 });
    } catch (cause) {
      const stderr = (cause as { stderr?: string }).stderr ?? "";
      throw new Error(`kubectl ${args.join(" ")} failed: ${stderr.trim()}`, { cause });
    }
  };
  // Server-side apply: Traefik's CRDs are too large for the last-applied annotation.
  await kubectl([
    "apply",
    "--server-side",
    "--force-conflicts",
    "--field-manager=shardgate-test",
    ...files.flatMap((f) => ["-f", f]),
  ]);
  await kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  // CRDs go in before the controller-manager starts, so its garbage collector
  // knows their kinds from the beginning (owners of those kinds are collected).
  const cp = await startControlPlane({
    controllerManager: true,
    beforeControllers: (kubeconfig) => installCrds(kubeconfig, crdFiles()),
  });
  if (process.env.SHARDGATE_TEST_VERBOSE) {
    console.log(`[harness] control plane ${cp.server} ready in ${Date.now() - started} ms (${cp.dir})`);
  }
  project.provide("kubeconfig", cp.kubeconfigPath);
  project.provide("server", cp.server);
  project.provide("caCertPath", cp.caCertPath);
  project.provide("caKeyPath", cp.caKeyPath);
  project.provide("auditLogPath", cp.auditLogPath);
  project.provide("controlPlaneDir", cp.dir);
  project.provide("testbinDir", testbinCacheDir());
  project.provide("traefikDir", componentDir("traefik"));
  project.provide("helmDir", componentDir("helm"));
  return async () => {
    await cp.stop();
  };
}
