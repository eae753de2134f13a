import { describe, expect, it } from "vitest";
import { contains, needsApply, withDesiredHash } from "../../src/operator/compare.ts";
import { mergeConditions } from "../../src/operator/conditions.ts";
import {
  desiredChildren,
  desiredDeployment,
  desiredNetworkPolicy,
  desiredService,
  desiredServiceAccount,
  serviceNeedsReplacing,
  serviceUrl,
} from "../../src/operator/desired/index.ts";
import { WorkQueue } from "../../src/operator/queue.ts";
import { desiredOptions, testShard as shard } from "../support/shards.ts";

const options = desiredOptions("ghcr.io/shardgate/shardgate:test");

type PodTemplate = {
  spec: {
    automountServiceAccountToken: boolean;
    serviceAccountName?: string;
    securityContext: Record<string, unknown>;
    containers: Array<{ securityContext: Record<string, unknown>; image: string }>;
  };
};

function template(obj: ReturnType<typeof desiredDeployment>): PodTemplate {
  return (obj!.spec as { template: PodTemplate }).template;
}

describe("desired state", () => {
  it("external shards deploy nothing", () => {
    expect(desiredChildren(shard({ url: "http://mcp.example.com/mcp" }), options)).toEqual([]);
  });

  it("managed shards get Service, NetworkPolicy and Deployment owned by the shard", () => {
    const children = desiredChildren(shard({ container: { image: "x:1" } }), options);
    expect(children.map((c) => c.kind)).toEqual(["Service", "NetworkPolicy", "Deployment"]);
    for (const c of children) {
      expect(c.metadata?.ownerReferences).toEqual([
        {
          apiVersion: "mcp.shardgate.dev/v1alpha1",
          kind: "McpShard",
          name: "s",
          uid: "u-1",
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });

  it("a one-pod shard's Service is headless, a shard of several pods gets a ClusterIP; the kind change means a replacement", () => {
    const one = desiredService(shard({ container: { image: "x:1", port: 3000 } }))!;
    const three = desiredService(shard({ container: { image: "x:1", port: 3000, replicas: 3 } }))!;
    expect(one.spec).toMatchObject({ type: "ClusterIP", clusterIP: "None" });
    expect(three.spec).not.toHaveProperty("clusterIP");
    const observed = (clusterIP?: string) => ({ ...one, spec: { ...(one.spec as object), clusterIP } });
    expect(serviceNeedsReplacing(one, observed("10.0.0.7"))).toBe(true);
    expect(serviceNeedsReplacing(one, observed("None"))).toBe(false);
    expect(serviceNeedsReplacing(three, observed("None"))).toBe(true);
    expect(serviceNeedsReplacing(three, observed("10.0.0.7"))).toBe(false);
    expect(serviceNeedsReplacing(one, observed(undefined))).toBe(false); // not allocated yet
    expect(serviceNeedsReplacing(one, undefined)).toBe(false);
  });

  it("pods are secure by default, and overridable", () => {
    const secure = template(desiredDeployment(shard({ container: { image: "x:1" } }), options));
    expect(secure.spec.automountServiceAccountToken).toBe(false);
    expect(secure.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(secure.spec.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    });
    const relaxed = template(
      desiredDeployment(
        shard({
          container: {
            image: "x:1",
            securityContext: { runAsNonRoot: false, capabilitiesAdd: ["NET_BIND_SERVICE"] },
          },
        }),
        options,
      ),
    );
    expect(relaxed.spec.containers[0]!.securityContext).toMatchObject({
      runAsNonRoot: false,
      capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
    });
  });

  it("a requested ServiceAccount is created and mounted", () => {
    const s = shard({ container: { image: "x:1", serviceAccount: { create: true } } });
    expect(desiredServiceAccount(s)?.metadata?.name).toBe("s");
    expect(template(desiredDeployment(s, options)).spec).toMatchObject({
      serviceAccountName: "s",
      automountServiceAccountToken: true,
    });
  });

  it("stdio shards run the shard image, disabled shards scale to zero", () => {
    const d = desiredDeployment(shard({ enabled: false, stdio: { command: ["srv"] } }), options);
    expect((d!.spec as { replicas: number }).replicas).toBe(0);
    expect(template(d).spec.containers[0]!.image).toBe(options.shardImage);
  });

  it("the NetworkPolicy admits only gateway pods, and the URL uses the cluster domain", () => {
    const s = shard({ container: { image: "x:1", port: 3000, path: "/v1/mcp" } });
    const policy = desiredNetworkPolicy(s, options)!.spec as { ingress: unknown[] };
    expect(policy.ingress).toEqual([
      {
        from: [{ namespaceSelector: {}, podSelector: { matchLabels: options.gatewaySelector } }],
        ports: [{ protocol: "TCP", port: 3000 }],
      },
    ]);
    expect(serviceUrl(s, "home.arpa")).toBe("http://s.n.svc.home.arpa:3000/v1/mcp");
  });

  it("lists the Service's names as the hosts the shard kit's guard accepts, before the user's env", () => {
    const s = shard({
      stdio: { command: ["srv"], env: [{ name: "SHARDGATE_SHARD_ALLOWED_HOSTS", value: "mine" }] },
    });
    const d = desiredDeployment(s, { ...options, clusterDomain: "home.arpa" });
    const env = (template(d).spec.containers[0] as unknown as { env: { name: string; value?: string }[] })
      .env;
    const hosts = env.filter((e) => e.name === "SHARDGATE_SHARD_ALLOWED_HOSTS");
    expect(hosts).toEqual([
      { name: "SHARDGATE_SHARD_ALLOWED_HOSTS", value: "s,s.n,s.n.svc,s.n.svc.home.arpa" },
      { name: "SHARDGATE_SHARD_ALLOWED_HOSTS", value: "mine" },
    ]);
    // The last entry of a name wins in Kubernetes: the user's.
    expect(new URL(serviceUrl(s, "home.arpa")).hostname).toBe("s.n.svc.home.arpa");
  });
});

describe("compare", () => {
  it("ignores server defaults and other managers' list entries, sees drift", () => {
    const desired = withDesiredHash({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { ports: [{ name: "http", port: 80 }] },
    });
    const observed = {
      ...desired,
      metadata: {
        ...desired.metadata,
        annotations: { ...desired.metadata?.annotations, user: "x" },
        uid: "1",
      },
      spec: {
        clusterIP: "10.0.0.5",
        ports: [
          { name: "http", port: 80, protocol: "TCP" },
          { name: "extra", port: 81 },
        ],
      },
    };
    expect(needsApply(desired, observed)).toBe(false);
    expect(needsApply(desired, { ...observed, spec: { ports: [{ name: "http", port: 81 }] } })).toBe(true);
    expect(needsApply(desired, undefined)).toBe(true);
    expect(contains(undefined, false)).toBe(true);
    expect(contains(undefined, [])).toBe(true);
  });
});

describe("conditions", () => {
  it("keep their transition time while their status holds", () => {
    const first = mergeConditions(
      undefined,
      [{ type: "Ready", status: "False", reason: "A", message: "a" }],
      1,
      new Date(0),
    );
    const same = mergeConditions(
      first,
      [{ type: "Ready", status: "False", reason: "B", message: "b" }],
      1,
      new Date(5000),
    );
    expect(same[0]!.lastTransitionTime).toBe(first[0]!.lastTransitionTime);
    const flipped = mergeConditions(
      first,
      [{ type: "Ready", status: "True", reason: "Ready", message: "" }],
      1,
      new Date(5000),
    );
    expect(flipped[0]!.lastTransitionTime).not.toBe(first[0]!.lastTransitionTime);
  });
});

describe("work queue", () => {
  it("deduplicates, never hands one key to two workers, and requeues a key touched while processing", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    queue.add("a");
    queue.add("b");
    expect(queue.depth).toBe(2);
    const first = await queue.get();
    expect(first).toBe("a");
    queue.add("a"); // while processing
    expect(await queue.get()).toBe("b");
    expect(queue.depth).toBe(0);
    queue.done("a");
    expect(await queue.get()).toBe("a");
    queue.done("a");
    queue.done("b");
    queue.shutdown();
    expect(await queue.get()).toBeUndefined();
  });
});
