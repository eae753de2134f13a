/**
 * The gateway's `checksum/secrets` annotation against a real apiserver: with
 * API keys in a Secret the user manages (existingSecret), `helm upgrade`
 * after a key change rolls the gateway (the annotation changes, from the
 * Secret's data read by `lookup`), and an upgrade without one does not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotFound, type KubeClient } from "../../src/kube/index.ts";
import { kubeconfigPath, useNamespace } from "../harness/index.ts";
import { CHART_DIR, helm } from "../support/chart-helpers.ts";
import { adminClient, RESOURCES } from "./operator-support.ts";

const ns = useNamespace("helm-checksum");
const release = `sg${Math.random().toString(36).slice(2, 7)}`;
let admin: KubeClient;
let installed = false;

/** Read when called: the namespace exists only once the harness's beforeAll has run. */
const base = () => ["--kubeconfig", kubeconfigPath(), "--namespace", ns.name];
const values = [
  // The global setup owns the CRD; no operator or Traefik shard needed to render the gateway.
  ...[
    "--set",
    "crds.enabled=false",
    "--set",
    "operator.enabled=false",
    "--set",
    "traefikShard.enabled=false",
  ],
  ...["--set", "gateway.apiKeys.enabled=true", "--set", "gateway.apiKeys.existingSecret=keys"],
];

async function putKeys(key: string): Promise<void> {
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "keys", namespace: ns.name },
    stringData: { webui: key },
  };
  await admin.apply(RESOURCES.secret, secret, { fieldManager: "shardgate-test" });
}

async function checksum(): Promise<string | undefined> {
  const d = await admin.get(RESOURCES.deployment, ns.name, `${release}-shardgate-gateway`);
  return (d.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata
    .annotations?.["checksum/secrets"];
}

async function upgrade(): Promise<void> {
  const result = await helm(["upgrade", release, CHART_DIR, ...base(), "--reuse-values"]);
  if (result.exitCode !== 0) throw new Error(`helm upgrade failed: ${result.stderr}`);
}

beforeAll(async () => {
  admin = adminClient(kubeconfigPath());
  await putKeys("a".repeat(32));
  const result = await helm(["install", release, CHART_DIR, ...base(), ...values]);
  if (result.exitCode !== 0) throw new Error(`helm install failed: ${result.stderr}`);
  installed = true;
});

afterAll(async () => {
  if (installed) await helm(["uninstall", release, ...base()]);
  await admin?.close();
});

describe("gateway checksum annotation", () => {
  it("changes when the keys in an existing Secret change, and only then", async () => {
    const first = await checksum();
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    await upgrade();
    expect(await checksum()).toBe(first);
    await putKeys("b".repeat(32));
    await upgrade();
    const second = await checksum();
    expect(second).toMatch(/^[0-9a-f]{64}$/);
    expect(second).not.toBe(first);
    // The CRD stays out of a release that was told not to own it.
    expect(
      await admin.get(RESOURCES.customResourceDefinition, undefined, "mcpshards.mcp.shardgate.dev").then(
        (crd) => crd.metadata?.annotations?.["meta.helm.sh/release-name"],
        (error: unknown) => (isNotFound(error) ? "missing" : undefined),
      ),
    ).toBeUndefined();
  });
});
