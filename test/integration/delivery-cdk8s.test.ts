// The cdk8s manifests apply cleanly to the real apiserver (CRD schema and CEL
// rules included). The committed cdk8s/dist files equal synthManifests()
// (cdk8s-manifests.test.ts), so applying a synth into this file's namespace,
// with unique cluster-scoped names, checks the same objects without touching
// what other tests use.
import { afterAll, describe, expect, it } from "vitest";
import { AppsV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { synthManifests } from "../../cdk8s/main.ts";
import { kubeConfig, kubectl, useNamespace } from "../harness/index.ts";

const ns = useNamespace("delivery-cdk8s");
const name = `sgc${Math.random().toString(36).slice(2, 7)}`;

describe("cdk8s manifests", () => {
  afterAll(async () => {
    const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    for (const role of [`${name}-operator`, `${name}-gateway`]) {
      await rbac.deleteClusterRole({ name: role }).catch(() => undefined);
      await rbac.deleteClusterRoleBinding({ name: role }).catch(() => undefined);
    }
  });

  it("apply with kubectl --server-side and create what they declare", async () => {
    const { "shardgate.yaml": install, "examples.yaml": examples } = synthManifests({
      namespace: ns.name,
      name,
    });
    await kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], { input: install });
    const applied = await kubectl(["apply", "--server-side", "-f", "-"], { input: install });
    expect(applied.stdout).toContain(`deployment.apps/${name}-gateway serverside-applied`);
    expect(applied.stdout).toContain("mcpshard.mcp.shardgate.dev/traefik serverside-applied");

    const apps = kubeConfig().makeApiClient(AppsV1Api);
    const names = (await apps.listNamespacedDeployment({ namespace: ns.name })).items.map(
      (d) => d.metadata?.name,
    );
    expect(names.sort()).toEqual([`${name}-gateway`, `${name}-operator`]);

    const appliedExamples = await kubectl(["apply", "--server-side", "-n", ns.name, "-f", "-"], {
      input: examples,
    });
    expect(appliedExamples.stdout.trim().split("\n")).toHaveLength(3);
    const custom = kubeConfig().makeApiClient(CustomObjectsApi);
    const shards = (await custom.listNamespacedCustomObject({
      group: "mcp.shardgate.dev",
      version: "v1alpha1",
      namespace: ns.name,
      plural: "mcpshards",
    })) as { items: { metadata: { name: string } }[] };
    expect(shards.items.map((s) => s.metadata.name).sort()).toEqual([
      "everything",
      "fetch",
      "homeassistant",
      "traefik",
    ]);
  });
});
