/**
 * vitest globalSetup of the "integration" project: one real control plane
 * (etcd, kube-apiserver, kube-controller-manager) for the whole run, with
 * every CRD of crds/ and Traefik's CRDs installed and Established. Test files
 * reach it through test/harness/index.ts (`kubeConfig()`, `useNamespace()`...).
 * The teardown runs whether tests pass or fail; the process helpers kill the
 * components even when vitest itself dies.
 */
import type { TestProject } from "vitest/node";
import { componentDir, testbinCacheDir } from "./binaries.ts";
import { startControlPlane, type ControlPlane } from "./control-plane.ts";
import { installTestCrds } from "./crds.ts";

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

/** Hands the control plane `cp` (and the testbin folders) to the test files: the ProvidedContext above. */
export function provideControlPlane(project: TestProject, cp: ControlPlane): void {
  project.provide("kubeconfig", cp.kubeconfigPath);
  project.provide("server", cp.server);
  project.provide("caCertPath", cp.caCertPath);
  project.provide("caKeyPath", cp.caKeyPath);
  project.provide("auditLogPath", cp.auditLogPath);
  project.provide("controlPlaneDir", cp.dir);
  project.provide("testbinDir", testbinCacheDir());
  project.provide("traefikDir", componentDir("traefik"));
  project.provide("helmDir", componentDir("helm"));
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  // CRDs go in before the controller-manager starts, so its garbage collector
  // knows their kinds from the beginning (owners of those kinds are collected).
  const cp = await startControlPlane({
    controllerManager: true,
    beforeControllers: installTestCrds,
  });
  if (process.env.SHARDGATE_TEST_VERBOSE) {
    console.log(`[harness] control plane ${cp.server} ready in ${Date.now() - started} ms (${cp.dir})`);
  }
  provideControlPlane(project, cp);
  return async () => {
    await cp.stop();
  };
}
