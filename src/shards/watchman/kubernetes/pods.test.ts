import { describe, expect, it } from "vitest";
import { containersOf, parseTarget, podsOf, stateOf, type Pod } from "./pods.ts";
import { parseQuantity, usageFromMetrics, usageFromSummary } from "./usage.ts";

const pod = (name: string, extra: Partial<Pod> & { owner?: [string, string]; hash?: string } = {}): Pod => ({
  metadata: {
    name,
    ...(extra.hash ? { labels: { "pod-template-hash": extra.hash } } : {}),
    ...(extra.owner
      ? {
          ownerReferences: [
            { apiVersion: "apps/v1", kind: extra.owner[0], name: extra.owner[1], uid: "u", controller: true },
          ],
        }
      : {}),
  },
  spec: { containers: [{ name: "app" }, { name: "sidecar" }], initContainers: [{ name: "init" }] },
  ...(extra.status ? { status: extra.status } : {}),
});

describe("parseTarget", () => {
  it("reads every form", () => {
    expect(parseTarget("gitea-0")).toEqual({ kind: "pod", name: "gitea-0" });
    expect(parseTarget("pod/gitea-0")).toEqual({ kind: "pod", name: "gitea-0" });
    expect(parseTarget("deployment/gitea")).toEqual({ kind: "Deployment", name: "gitea" });
    expect(parseTarget("deployments/gitea")).toEqual({ kind: "Deployment", name: "gitea" });
    expect(parseTarget("sts/db")).toEqual({ kind: "StatefulSet", name: "db" });
    expect(parseTarget("daemonset/agent")).toEqual({ kind: "DaemonSet", name: "agent" });
    expect(parseTarget("app=gitea,tier!=db")).toEqual({ kind: "selector", selector: "app=gitea,tier!=db" });
    expect(parseTarget("ip/10.244.0.7")).toEqual({ kind: "ip", ip: "10.244.0.7" });
    expect(parseTarget(undefined)).toEqual({ kind: "all" });
  });
  it("refuses the rest, naming the accepted forms", () => {
    expect(() => parseTarget("service/gitea")).toThrow(/deployment\/NAME/);
    expect(() => parseTarget("Gitea Server")).toThrow(/not one of/);
  });
});

describe("podsOf", () => {
  const pods = [
    pod("gitea-7d9f-b", { owner: ["ReplicaSet", "gitea-7d9f"], hash: "7d9f" }),
    pod("gitea-7d9f-a", { owner: ["ReplicaSet", "gitea-7d9f"], hash: "7d9f" }),
    // Another Deployment whose name starts the same way.
    pod("gitea-web-55-x", { owner: ["ReplicaSet", "gitea-web-55"], hash: "55" }),
    pod("db-0", { owner: ["StatefulSet", "db"], status: { podIP: "10.244.0.9" } }),
  ];
  it("resolves a Deployment through its ReplicaSet's name and pod-template-hash, sorted", () => {
    expect(podsOf(parseTarget("deployment/gitea"), pods).map((p) => p.metadata.name)).toEqual([
      "gitea-7d9f-a",
      "gitea-7d9f-b",
    ]);
    expect(podsOf(parseTarget("deployment/gitea-web"), pods).map((p) => p.metadata.name)).toEqual([
      "gitea-web-55-x",
    ]);
  });
  it("resolves StatefulSets by owner and pods by IP", () => {
    expect(podsOf(parseTarget("statefulset/db"), pods).map((p) => p.metadata.name)).toEqual(["db-0"]);
    expect(podsOf(parseTarget("ip/10.244.0.9"), pods).map((p) => p.metadata.name)).toEqual(["db-0"]);
    expect(podsOf(parseTarget("daemonset/db"), pods)).toEqual([]);
  });
});

describe("containers and states", () => {
  it("reads all app containers, or the one named (init ones too)", () => {
    expect(containersOf(pod("p"), undefined)).toEqual(["app", "sidecar"]);
    expect(containersOf(pod("p"), "init")).toEqual(["init"]);
    expect(containersOf(pod("p"), "nope")).toEqual([]);
  });
  it("describes states", () => {
    expect(stateOf({ name: "a", state: { waiting: { reason: "CrashLoopBackOff" } } })).toBe(
      "waiting: CrashLoopBackOff",
    );
    expect(stateOf({ name: "a", state: { running: {} } })).toBe("running");
    expect(stateOf(undefined)).toBe("unknown");
  });
});

describe("usage", () => {
  it("parses quantities", () => {
    expect(parseQuantity("250m")).toBe(0.25);
    expect(parseQuantity("123456789n")).toBeCloseTo(0.123456789);
    expect(parseQuantity("12Mi")).toBe(12 * 2 ** 20);
    expect(parseQuantity("1.5Gi")).toBe(1.5 * 2 ** 30);
    expect(parseQuantity("1e3")).toBe(1000);
    expect(parseQuantity("lots")).toBeUndefined();
  });
  it("reads the metrics API and the kubelet summary alike", () => {
    expect(usageFromMetrics({ containers: [{ name: "app", usage: { cpu: "5m", memory: "10Ki" } }] })).toEqual(
      new Map([["app", { cpuCores: 0.005, memoryBytes: 10240 }]]),
    );
    const summary = {
      pods: [
        {
          podRef: { name: "p", namespace: "apps" },
          containers: [
            { name: "app", cpu: { usageNanoCores: 5_000_000 }, memory: { workingSetBytes: 10240 } },
          ],
        },
      ],
    };
    expect(usageFromSummary(summary, "apps", "p")).toEqual(
      new Map([["app", { cpuCores: 0.005, memoryBytes: 10240 }]]),
    );
    expect(usageFromSummary(summary, "other", "p")).toBeUndefined();
  });
});
