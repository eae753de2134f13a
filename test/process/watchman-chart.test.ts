// The Watchman shard's install: the Helm chart (real helm) and the cdk8s app
// grant exactly the rules of src/shards/watchman/kubernetes/rbac.ts, in exactly
// the namespaces listed, and nothing cluster-wide unless the kubelet summary is on.
import { describe, expect, it } from "vitest";
import { synthManifests } from "../../cdk8s/main.ts";
import { watchmanNamespaceRules, watchmanNodeRules } from "../../src/shards/watchman/index.ts";
import { parseObjects, renderChart, type K8sObject } from "../support/chart-helpers.ts";

type Stats = "none" | "metrics-api" | "kubelet-summary";

const watchmanObjects = (objects: K8sObject[]) =>
  objects.filter((o) => o.metadata.labels?.["app.kubernetes.io/component"] === "watchman-shard");

const rules = (o: K8sObject) => (o as unknown as { rules: unknown }).rules;
const env = (o: K8sObject) =>
  Object.fromEntries(
    (
      o as unknown as { spec: { container: { env: { name: string; value: string }[] } } }
    ).spec.container.env.map((e) => [e.name, e.value]),
  );
const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

async function both(namespaces: string[], stats: Stats) {
  const chart = watchmanObjects(
    await renderChart(
      { "watchmanShard.enabled": true, "watchmanShard.namespaces": namespaces, "watchmanShard.stats": stats },
      { release: "shardgate" },
    ),
  );
  const synth = watchmanObjects(
    parseObjects(synthManifests({ watchmanShard: { namespaces, stats } })["shardgate.yaml"] ?? ""),
  );
  return { chart, synth };
}

describe("the Watchman shard's install", () => {
  it("is off by default", async () => {
    expect(watchmanObjects(await renderChart({}, { release: "shardgate" }))).toEqual([]);
  });

  it("grants the generated Role in each listed namespace, and nothing cluster-wide, in chart and cdk8s alike", async () => {
    const { chart, synth } = await both(["apps", "media"], "none");
    expect(chart.map(key).sort()).toEqual(synth.map(key).sort());
    expect(chart.map(key).sort()).toEqual([
      "McpShard/shardgate/watchman",
      "Role/apps/shardgate-watchman-shard",
      "Role/media/shardgate-watchman-shard",
      "RoleBinding/apps/shardgate-watchman-shard",
      "RoleBinding/media/shardgate-watchman-shard",
      "ServiceAccount/shardgate/shardgate-watchman-shard",
    ]);
    const expected = watchmanNamespaceRules().map((r) => r.rule);
    for (const o of [...chart, ...synth].filter((x) => x.kind === "Role"))
      expect(rules(o), key(o)).toEqual(expected);
    const shard = chart.find((o) => o.kind === "McpShard")!;
    expect(env(shard)).toMatchObject({ SHARDGATE_NAMESPACES: "apps,media", SHARDGATE_STATS: "none" });
    // The chart also passes its logLevel value; cdk8s keeps the image's default (as for Traefik).
    const { LOG_LEVEL: _level, ...chartEnv } = env(shard);
    expect(env(synth.find((o) => o.kind === "McpShard")!)).toEqual(chartEnv);
  });

  it("adds the metrics API read to the Role only with stats=metrics-api", async () => {
    const { chart, synth } = await both(["apps"], "metrics-api");
    const expected = watchmanNamespaceRules({ metricsApi: true }).map((r) => r.rule);
    for (const o of [...chart, ...synth].filter((x) => x.kind === "Role")) expect(rules(o)).toEqual(expected);
    expect(chart.some((o) => o.kind.startsWith("Cluster"))).toBe(false);
  });

  it("adds the nodes/proxy ClusterRole only with stats=kubelet-summary", async () => {
    const { chart, synth } = await both(["apps"], "kubelet-summary");
    const clusterRoles = [...chart, ...synth].filter((o) => o.kind === "ClusterRole");
    expect(clusterRoles).toHaveLength(2);
    for (const o of clusterRoles) expect(rules(o)).toEqual(watchmanNodeRules().map((r) => r.rule));
    expect(chart.map(key).sort()).toEqual(synth.map(key).sort());
  });

  it("reads the release namespace when none is listed", async () => {
    const { chart } = await both([], "none");
    expect(chart.filter((o) => o.kind === "Role").map((o) => o.metadata.namespace)).toEqual(["shardgate"]);
  });
});
