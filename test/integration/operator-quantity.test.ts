/**
 * canonicalQuantity against the real apiserver: what the operator states is
 * exactly what the apiserver stores, or every reconcile would see drift and
 * write again. Dry-run creates, so nothing is stored.
 */
import { afterAll, describe, expect, it } from "vitest";
import { canonicalQuantity } from "../../src/operator/index.ts";
import { RESOURCES, resourcePath, type KubeObject } from "../../src/kube/index.ts";
import { kubeconfigPath, useNamespace } from "../harness/index.ts";
import { adminClient } from "./operator-support.ts";

const ns = useNamespace("operator-quantity");
// The control plane is up before any test file is collected (global setup).
const admin = adminClient(kubeconfigPath());
afterAll(() => admin.close());

const VALUES: Array<string | number> = [
  0.5,
  1,
  2,
  64,
  1000,
  1500,
  2000,
  1e6,
  0.1,
  0.25,
  1.25,
  0.001,
  0.0005,
  1e-9,
  1e-10,
  "0.5",
  "1",
  "1000m",
  "10000m",
  "100m",
  "1500m",
  "1.5",
  "2000",
  "2k",
  "129M",
  "129e6",
  "1e3",
  "1.5e3",
  "12e-1",
  "128974848",
  "1Gi",
  "1024Mi",
  "1.5Gi",
  "0.5Gi",
  "2.5Gi",
  "512Mi",
  "123Mi",
  "1536Ki",
  "1Ki",
  "0.5Ki",
  "1023",
  "1025Ki",
  "64Mi",
  "1Ti",
  "1048576Ki",
  "0",
  "0m",
  "0Gi",
  "1n",
  "1u",
  "1.000000001",
  "0.0000000001",
  "1M",
  "1000k",
  "1000000",
  "1E",
  "1P",
  "5G",
  "0.5M",
  "+1",
  ".5",
];

/** POSTs `body` to `path` with dryRun=All: what kube-apiserver would store, nothing stored. */
function dryRunCreate<T>(path: string, body: Record<string, unknown>): Promise<T> {
  return admin.request<T>(path, { method: "POST", query: { dryRun: "All" }, body });
}

async function storedAs(value: string | number): Promise<string> {
  const quota = await dryRunCreate<KubeObject & { spec: { hard: Record<string, string> } }>(
    resourcePath({ ...RESOURCES.configMap, kind: "ResourceQuota", plural: "resourcequotas" }, ns.name),
    {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "q" },
      spec: { hard: { "requests.cpu": value } },
    },
  );
  return quota.spec.hard["requests.cpu"]!;
}

describe("canonical quantities", () => {
  it("match what kube-apiserver stores, value for value", async () => {
    const stored = await Promise.all(VALUES.map(async (v) => [v, await storedAs(v)] as const));
    const ours = stored.map(([v]) => [v, canonicalQuantity(v, { milli: true })] as const);
    expect(ours).toEqual(stored);
  });

  it("match what kube-apiserver stores outside a ResourceList (emptyDir sizeLimit: nano precision)", async () => {
    const pod = await dryRunCreate<
      KubeObject & { spec: { volumes: Array<{ emptyDir: { sizeLimit: string } }> } }
    >(resourcePath(RESOURCES.pod, ns.name), {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        containers: [{ name: "c", image: "example.com/x:1" }],
        volumes: VALUES.map((v, i) => ({ name: `v${i}`, emptyDir: { sizeLimit: v } })),
      },
    });
    const stored = VALUES.map((v, i) => [v, pod.spec.volumes[i]!.emptyDir.sizeLimit] as const);
    const ours = VALUES.map((v) => [v, canonicalQuantity(v)] as const);
    expect(ours).toEqual(stored);
  });
});
