/**
 * What integration test files use. The shared control plane is started by
 * global-setup.ts; these helpers reach it through vitest's `inject`.
 *
 *   const ns = useNamespace("gateway");
 *   it("...", async () => {
 *     const kc = kubeConfig();
 *     await applyYaml(kc, manifest, { namespace: ns.name });
 *     await waitFor(async () => ..., { message: "route never appeared" });
 *   });
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, inject } from "vitest";
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { mintUserKubeconfig, readAuditEvents, type AuditEvent } from "./control-plane.ts";
import { waitFor } from "../support/wait.ts";

export { startControlPlane, mintUserKubeconfig, readAuditEvents } from "./control-plane.ts";
export type { AuditEvent, ControlPlane, ControlPlaneOptions } from "./control-plane.ts";
export { startTraefik } from "./traefik.ts";
export type { Traefik, TraefikOptions } from "./traefik.ts";
export { freePort } from "./net.ts";
export { waitFor, type WaitOptions } from "../support/wait.ts";
export { binary, traefikCrdsPath } from "./binaries.ts";

/** Admin kubeconfig of the shared control plane. */
export function kubeconfigPath(): string {
  return inject("kubeconfig");
}

/** A client-node KubeConfig (admin, or the given kubeconfig file). */
export function kubeConfig(path: string = kubeconfigPath()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/**
 * A kubeconfig for `user` in `groups` on the shared control plane, with no
 * rights beyond what RBAC grants that user or those groups.
 */
export function userKubeconfig(user: string, groups: readonly string[] = []): Promise<string> {
  return mintUserKubeconfig(
    {
      server: inject("server"),
      caCertPath: inject("caCertPath"),
      caKeyPath: inject("caKeyPath"),
      // Inside the control plane's directory, so its teardown removes them.
      dir: join(inject("controlPlaneDir"), "users"),
    },
    user,
    groups,
  );
}

/** Completed mutating requests (create/update/patch/delete/deletecollection) on the shared control plane so far. */
export function auditEvents(): Promise<AuditEvent[]> {
  return readAuditEvents(inject("auditLogPath"));
}

export interface NamespaceHandle {
  /** The namespace's name; readable once beforeAll has run. */
  readonly name: string;
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 8);
}

/**
 * A fresh namespace for one test file (or describe block): created in
 * beforeAll, deleted in afterAll. beforeAll also waits for its "default"
 * ServiceAccount, which the controller-manager creates, so pods can be made
 * right away (the ServiceAccount admission plugin refuses them until then).
 */
export function useNamespace(prefix: string, kc?: KubeConfig): NamespaceHandle {
  let name: string | undefined;
  beforeAll(async () => {
    const core = (kc ?? kubeConfig()).makeApiClient(CoreV1Api);
    const wanted = `${prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "-")
      .slice(0, 50)}-${randomSuffix()}`;
    await core.createNamespace({
      body: { metadata: { name: wanted, labels: { "shardgate.dev/test": "true" } } },
    });
    name = wanted;
    await waitFor(() => core.readNamespacedServiceAccount({ name: "default", namespace: wanted }), {
      message: `ServiceAccount default in namespace ${wanted} was never created (is kube-controller-manager running?)`,
    });
  });
  afterAll(async () => {
    if (name === undefined) return;
    const core = (kc ?? kubeConfig()).makeApiClient(CoreV1Api);
    // Not waited for: the namespace controller finalizes in the background.
    await core.deleteNamespace({ name }).catch(() => undefined);
  });
  return {
    get name(): string {
      if (name === undefined)
        throw new Error(`useNamespace("${prefix}"): the namespace exists only once beforeAll has run`);
      return name;
    },
  };
}

export interface ApplyOptions {
  /** Namespace for namespaced objects that name none. */
  readonly namespace?: string;
  /** @default "shardgate-test" */
  readonly fieldManager?: string;
}

/** Server-side applies every document of a YAML (or JSON) string, in order; returns what the server stored. */
export async function applyYaml(
  kc: KubeConfig,
  yaml: string,
  opts: ApplyOptions = {},
): Promise<KubernetesObject[]> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const applied: KubernetesObject[] = [];
  for (const doc of parseAllDocuments(yaml)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as KubernetesObject | null;
    if (!obj) continue;
    if (opts.namespace && !obj.metadata?.namespace) {
      obj.metadata = { ...obj.metadata, namespace: opts.namespace };
    }
    try {
      applied.push(
        await client.patch(
          obj,
          undefined,
          undefined,
          opts.fieldManager ?? "shardgate-test",
          true,
          PatchStrategy.ServerSideApply,
        ),
      );
    } catch (cause) {
      throw new Error(`apply ${obj.kind}/${obj.metadata?.name} failed`, { cause });
    }
  }
  return applied;
}

/** Server-side applies one McpShard `name` with `spec` in `namespace` (see applyYaml). */
export function applyMcpShard(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<KubernetesObject[]> {
  const shard = { apiVersion: "mcp.shardgate.dev/v1alpha1", kind: "McpShard", metadata: { name }, spec };
  return applyYaml(kubeConfig(), JSON.stringify(shard), { namespace });
}

export interface KubectlOptions {
  /** @default the shared control plane's admin kubeconfig */
  readonly kubeconfig?: string;
  /** Written to kubectl's standard input (for `-f -`). */
  readonly input?: string;
  /** Resolve with the exit code instead of throwing on a non-zero exit. @default false */
  readonly allowFailure?: boolean;
}

export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** Runs the preinstalled /usr/bin/kubectl (or the first kubectl on PATH). */
export async function kubectl(args: readonly string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const kubeconfig = opts.kubeconfig ?? kubeconfigPath();
  const command = existsSync("/usr/bin/kubectl") ? "/usr/bin/kubectl" : "kubectl";
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      ["--kubeconfig", kubeconfig, ...args],
      { maxBuffer: 32 * 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        if (error && !opts.allowFailure) {
          reject(
            new Error(`kubectl ${args.join(" ")} exited ${exitCode}: ${stderr.trim()}`, { cause: error }),
          );
          return;
        }
        resolve({ stdout, stderr, exitCode });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}
