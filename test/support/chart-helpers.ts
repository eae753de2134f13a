/** Renders charts/shardgate with the real helm binary (built by hack/testbin). */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { binary, repoRoot } from "../harness/binaries.ts";

const run = promisify(execFile);

export const CHART_DIR = join(repoRoot(), "charts/shardgate");

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

export interface HelmResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export async function helm(args: readonly string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(binary("helm"), args, {
      maxBuffer: 32 * 1024 * 1024,
      // A private HELM_CACHE/CONFIG so nothing of the user's helm setup (or the network) is used.
      env: {
        ...process.env,
        HELM_CACHE_HOME: "/tmp/shardgate-helm/cache",
        HELM_CONFIG_HOME: "/tmp/shardgate-helm/config",
        HELM_DATA_HOME: "/tmp/shardgate-helm/data",
      },
    });
    return { stdout, stderr, exitCode: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return {
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
      exitCode: typeof e.code === "number" ? e.code : 1,
    };
  }
}

/** `--set`-style overrides, or a values object passed as JSON through --set-json. */
export async function renderChart(
  values: Record<string, unknown> = {},
  opts: { release?: string; namespace?: string; showOnly?: string } = {},
): Promise<K8sObject[]> {
  const args = [
    "template",
    opts.release ?? "sg",
    CHART_DIR,
    "--namespace",
    opts.namespace ?? "shardgate",
    "--kube-version",
    "1.36.0",
    ...Object.entries(values).flatMap(([k, v]) => ["--set-json", `${k}=${JSON.stringify(v)}`]),
    ...(opts.showOnly ? ["--show-only", opts.showOnly] : []),
  ];
  const result = await helm(args);
  if (result.exitCode !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseObjects(result.stdout);
}

/** The objects of a multi-document YAML stream (empty documents dropped). */
export function parseObjects(yaml: string): K8sObject[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export function find(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) {
    throw new Error(
      `no ${kind}${name ? ` ${name}` : ""} in: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`,
    );
  }
  return found;
}
