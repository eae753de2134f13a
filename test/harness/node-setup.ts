/**
 * vitest globalSetup of the "e2e" project: a control plane of its own (with
 * the scheduler) and ONE real node (node.ts) for the whole run, shared by every
 * e2e test file. Separate from the integration control plane on purpose: there,
 * pods must stay unscheduled (tests assert PodsNotReady), here they run.
 * Test files reach both through test/harness/index.ts (`kubeConfig()`...) and
 * e2e.ts (`node()`, `forward()`).
 */
import type { TestProject } from "vitest/node";
import { installTestCrds } from "./crds.ts";
import { startControlPlane } from "./control-plane.ts";
import { provideControlPlane } from "./global-setup.ts";
import { startNode } from "./node.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The e2e node's scratch directory and namespace holder (see node.ts NodeHandle). */
    nodeDir: string;
    nodeHolderPid: number;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const cp = await startControlPlane({
    controllerManager: true,
    scheduler: true,
    beforeControllers: installTestCrds,
    // pods/log and the node proxy (Watchman's e2e test): the apiserver reaches the kubelet through the node harness.
    kubeletEgress: true,
  });
  const log = (line: string) => console.log(line);
  log(`[node] control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  let node;
  try {
    // The scaffold image (600 MB) is imported by the one test that runs it (importImage in e2e.ts).
    node = await startNode({ controlPlane: cp, log, images: ["hello", "shardgate", "traefik"] });
  } catch (err) {
    await cp.stop();
    throw err;
  }
  provideControlPlane(project, cp);
  project.provide("nodeDir", node.dir);
  project.provide("nodeHolderPid", node.holderPid);
  return async () => {
    await node.stop();
    await cp.stop();
  };
}
