import { describe, expect, it } from "vitest";
import { isCidr } from "../../src/api/v1alpha1/egress.ts";
import { mcpShardSpec, SHARD_TOKEN_ENV } from "../../src/api/index.ts";
import * as desired from "../../src/operator/desired/index.ts";
import {
  desiredChildren,
  desiredDeployment,
  desiredEgressPolicy,
  desiredTokenSecret,
  randomToken,
} from "../../src/operator/desired/index.ts";
import { desiredOptions, DNS_EGRESS, egressPolicyHead, testShard as shard } from "../support/shards.ts";

const options = desiredOptions("shardgate:test");

const container = { image: "x:1" };
const bearer = { generate: true, valuePrefix: "Bearer ", secretKeyRef: { name: "s-token", key: "token" } };

describe("spec.egress", () => {
  it("absent: no egress policy, the pods may connect anywhere (as before the field existed)", () => {
    expect(desiredEgressPolicy(shard({ container }))).toBeUndefined();
    expect(desiredChildren(shard({ container }), options).map((c) => c.metadata?.name)).not.toContain(
      "s-egress",
    );
  });

  it("absent, the operator's --default-egress applies; a shard's own spec.egress wins", () => {
    const { defaultEgressPolicy } = desired;
    expect(defaultEgressPolicy("unrestricted")).toBeUndefined();
    const dnsOnly = { defaultEgress: defaultEgressPolicy("dns-only") };
    expect(
      (desiredEgressPolicy(shard({ container }), dnsOnly)?.spec as { egress: unknown[] }).egress,
    ).toHaveLength(1);
    const none = { defaultEgress: defaultEgressPolicy("none") };
    expect(desiredEgressPolicy(shard({ container }), none)?.spec).not.toHaveProperty("egress");
    const own = desiredEgressPolicy(shard({ container, egress: { to: [{ cidr: "10.0.0.0/8" }] } }), none);
    expect((own?.spec as { egress: unknown[] }).egress).toHaveLength(2);
    expect(desiredEgressPolicy(shard({ url: "http://x/mcp" }), none)).toBeUndefined();
  });

  it("{}: DNS only; everything else refused", () => {
    const policy = desiredEgressPolicy(shard({ container, egress: {} }));
    expect(policy?.metadata?.name).toBe("s-egress");
    expect(policy?.spec).toEqual({
      ...egressPolicyHead("s"),
      egress: [DNS_EGRESS],
    });
  });

  it("dns: false with no destinations denies all egress", () => {
    const spec = desiredEgressPolicy(shard({ stdio: { command: ["srv"] }, egress: { dns: false } }))?.spec;
    expect(spec).toEqual(expect.objectContaining({ policyTypes: ["Egress"] }));
    // The apiserver stores an empty egress list as absent: the same "deny all".
    expect((spec as { egress?: unknown[] }).egress).toBeUndefined();
  });

  it("renders CIDRs with exceptions and ports, and in-cluster pods by namespace name", () => {
    const policy = desiredEgressPolicy(
      shard({
        container,
        egress: {
          to: [
            {
              cidr: "192.168.1.0/24",
              except: ["192.168.1.1/32"],
              ports: [{ port: 8123 }, { port: 9000, endPort: 9010, protocol: "UDP" }],
            },
            { pods: { matchLabels: { app: "db" } }, ports: [{ port: 5432 }] },
            { pods: { namespace: "media", matchLabels: { app: "jellyfin" } } },
          ],
        },
      }),
    );
    expect((policy?.spec as { egress: unknown[] }).egress.slice(1)).toEqual([
      {
        to: [{ ipBlock: { cidr: "192.168.1.0/24", except: ["192.168.1.1/32"] } }],
        ports: [
          { protocol: "TCP", port: 8123 },
          { protocol: "UDP", port: 9000, endPort: 9010 },
        ],
      },
      {
        to: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "n" } },
            podSelector: { matchLabels: { app: "db" } },
          },
        ],
        ports: [{ protocol: "TCP", port: 5432 }],
      },
      {
        to: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "media" } },
            podSelector: { matchLabels: { app: "jellyfin" } },
          },
        ],
      },
    ]);
  });

  it("is applied with the other children, before the Deployment", () => {
    const kinds = desiredChildren(shard({ container, egress: {} }), options).map(
      (c) => `${c.kind}/${c.metadata?.name}`,
    );
    expect(kinds).toEqual(["Service/s", "NetworkPolicy/s", "NetworkPolicy/s-egress", "Deployment/s"]);
  });

  it("refuses host names and malformed ranges with a clear message", () => {
    expect(isCidr("10.0.0.0/8")).toBe(true);
    expect(isCidr("2001:db8::/32")).toBe(true);
    expect(isCidr("10.0.0.1")).toBe(false);
    expect(isCidr("10.0.0.0/33")).toBe(false);
    expect(isCidr("example.com/32")).toBe(false);
    const parsed = mcpShardSpec.safeParse({ container, egress: { to: [{ cidr: "api.github.com" }] } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/must be a CIDR range/);
  });
});

describe("spec.auth.generate", () => {
  it("hands the token to the container as SHARDGATE_SHARD_TOKEN from the named Secret, after the user's env", () => {
    const d = desiredDeployment(
      shard({ container: { ...container, env: [{ name: SHARD_TOKEN_ENV, value: "mine" }] }, auth: bearer }),
      options,
    );
    const env = (d?.spec as { template: { spec: { containers: Array<{ env: unknown[] }> } } }).template.spec
      .containers[0]!.env;
    expect(env.at(-1)).toEqual({
      name: "SHARDGATE_SHARD_TOKEN",
      valueFrom: { secretKeyRef: { name: "s-token", key: "token" } },
    });
  });

  it("is a Secret owned by the shard, with no value (the token is made once, at creation)", () => {
    const secret = desiredTokenSecret(shard({ container, auth: bearer }));
    expect(secret).toMatchObject({
      kind: "Secret",
      type: "Opaque",
      metadata: { name: "s-token", namespace: "n" },
    });
    expect(secret?.metadata?.ownerReferences?.[0]).toMatchObject({ uid: "u-1", controller: true });
    expect(secret).not.toHaveProperty("data");
    expect(secret).not.toHaveProperty("stringData");
  });

  it("without generate, or for external shards, nothing is generated", () => {
    const { generate: _, ...own } = bearer;
    expect(desiredTokenSecret(shard({ container, auth: own }))).toBeUndefined();
    const d = desiredDeployment(shard({ container, auth: own }), options);
    expect(JSON.stringify(d)).not.toContain(SHARD_TOKEN_ENV);
    expect(desiredTokenSecret(shard({ url: "http://x/mcp", auth: bearer }))).toBeUndefined();
  });

  it("tokens are 256 random bits that need no quoting", () => {
    const a = randomToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken()).not.toBe(a);
  });
});
