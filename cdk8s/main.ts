/**
 * The cdk8s app: synthesizes the plain-manifest install (cdk8s/dist/shardgate.yaml)
 * and the example McpShards (cdk8s/dist/examples.yaml) in memory. `make
 * manifests` (hack/generate-manifests.ts) writes them; the cdk8s CLI is not
 * needed.
 */
import { App } from "cdk8s";
import { ExampleShards } from "./lib/examples.ts";
import { ShardgateInstallation, type InstallationProps } from "./lib/installation.ts";

export { EXAMPLE_SHARDS, exampleObject } from "./lib/examples.ts";
export { chartValuesJsonSchema, chartValuesSchema, type ChartValues } from "./lib/chart-values.ts";
export * from "./lib/rbac.ts";
export { ShardgateInstallation, type InstallationProps } from "./lib/installation.ts";

/** file name -> YAML of every synthesized manifest. */
export function synthManifests(props: InstallationProps = {}): Record<string, string> {
  const install = new App({ outdir: "cdk8s/dist" });
  new ShardgateInstallation(install, "shardgate", props);
  const examples = new App({ outdir: "cdk8s/dist" });
  new ExampleShards(examples, "examples");
  return { "shardgate.yaml": install.synthYaml(), "examples.yaml": examples.synthYaml() };
}
