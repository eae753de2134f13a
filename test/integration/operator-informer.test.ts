/**
 * The informer against the real kube-apiserver: list-then-watch from the
 * list's resourceVersion, every later change seen once, in order.
 *
 * 410 Gone is not provoked here: kube-apiserver 1.36 serves a watch from
 * resourceVersion=1 out of its watch cache (it replays from the cache's
 * start) even after etcd was compacted past it, so the real apiserver cannot
 * be made to answer 410 on demand with the harness's flags. The 410,
 * dropped-connection and failing-list cases run against a loopback HTTP
 * server speaking the watch protocol in test/unit/kube-informer.test.ts. The scripted
 * cases (410 mid-stream, connection cut, failing list) are in
 * test/unit/kube-informer.test.ts.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  Informer,
  RESOURCES,
  withoutManagedFields,
  type InformerEvent,
  type KubeObject,
} from "../../src/kube/index.ts";
import { kubeconfigPath, useNamespace, waitFor } from "../harness/index.ts";
import { adminClient } from "./operator-support.ts";

const ns = useNamespace("operator-informer");
// The control plane is up before any test file is collected (global setup).
const admin = adminClient(kubeconfigPath());
afterAll(() => admin.close());

function configMap(name: string, value: string): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns.name }, data: { value } };
}

describe("informer against kube-apiserver", () => {
  it("lists, then watches from the list's version: sees every later change exactly once", async () => {
    await admin.create(RESOURCES.configMap, configMap("before", "1"));
    const informer = new Informer<KubeObject>({
      client: admin,
      type: RESOURCES.configMap,
      namespace: ns.name,
      resyncMs: 0,
      transform: withoutManagedFields,
    });
    const events: InformerEvent<KubeObject>[] = [];
    informer.on((e) => events.push(e));
    informer.start();
    try {
      await informer.waitForSync();
      expect(informer.get(`${ns.name}/before`)?.data).toEqual({ value: "1" });
      expect(informer.get(`${ns.name}/before`)?.metadata?.managedFields).toBeUndefined();
      await admin.create(RESOURCES.configMap, configMap("after", "1"));
      await admin.mergePatch(RESOURCES.configMap, ns.name, "before", { data: { value: "2" } });
      await admin.delete(RESOURCES.configMap, ns.name, "after");
      await waitFor(() => events.some((e) => e.type === "delete"));
      const changes = events
        .flatMap((e) =>
          e.type === "add" || e.type === "update" || e.type === "delete"
            ? [`${e.type} ${e.object.metadata?.name}`]
            : [],
        )
        .filter((s) => !s.endsWith("kube-root-ca.crt"));
      expect(changes).toEqual(["add before", "add after", "update before", "delete after"]);
      expect(informer.get(`${ns.name}/before`)?.data).toEqual({ value: "2" });
      expect(informer.get(`${ns.name}/after`)).toBeUndefined();
    } finally {
      await informer.stop();
    }
  });
});
