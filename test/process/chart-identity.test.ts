/**
 * The chart's identity values, rendered by the real helm binary, are what the
 * gateway reads: the OAuth, forwarded-user and policy settings of the pod's
 * environment pass the gateway's own config schema, and the policy ConfigMap
 * (outside the restart checksum, so it is reloaded live) parses as a policy;
 * the identity signing key every replica shares is a Secret the gateway's own
 * loader reads, mounted where its environment points.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { resolveConfig } from "../../src/config/index.ts";
import { IdentitySigner, Policy } from "../../src/gateway/index.ts";
import { tokenVerifierOf } from "../../src/gateway/auth/load.ts";
import { gatewayConfigSchema } from "../../src/gateway/config.ts";
import { consoleOidcSettingsOf } from "../../src/gateway/ui/oidc.ts";
import { find, renderChart, type K8sObject } from "../support/chart-helpers.ts";

type Container = {
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts?: { name: string; mountPath: string }[];
};
type PodSpec = {
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string; items: { key: string; path: string }[] } }[];
};
type PodTemplate = { metadata: { annotations: Record<string, string> }; spec: PodSpec };

function gatewayPod(objects: readonly K8sObject[]): PodTemplate {
  const deployment = objects.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-gateway"))!;
  return (deployment.spec as { template: PodTemplate }).template;
}

function gatewayContainer(objects: readonly K8sObject[]): Container {
  return gatewayPod(objects).spec.containers[0]!;
}

/** The file the gateway's --identity-key-file names, as the pod would see it: its Secret and key. */
function identityKeySource(objects: readonly K8sObject[]): { secretName: string; key: string; path: string } {
  const pod = gatewayPod(objects);
  const env = Object.fromEntries((pod.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
  const path = resolveConfig(gatewayConfigSchema, {}, env).identityKeyFile!;
  const mount = pod.spec.containers[0]!.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`))!;
  const volume = pod.spec.volumes.find((v) => v.name === mount.name)!;
  const item = volume.secret!.items.find((i) => `${mount.mountPath}/${i.path}` === path)!;
  return { secretName: volume.secret!.secretName, key: item.key, path };
}

const GRANTS = [
  { groups: ["family"], tools: ["weather_*"] },
  { groups: ["admins"], admin: true },
];

describe("chart identity values", () => {
  it("renders OAuth, forwarded-user keys and a live-reloaded policy the gateway accepts", async () => {
    const objects = await renderChart({
      "gateway.apiKeys": { enabled: true, keys: { owui: "0123456789abcdefgh" }, forwardedUser: ["owui"] },
      "gateway.oauth": {
        enabled: true,
        issuer: "https://auth.example.com/application/o/mcp/",
        resource: "https://mcp.example.com/mcp",
        requiredScopes: ["mcp"],
        groupsClaim: "realm_access.roles",
      },
      "gateway.policy": { grants: GRANTS },
    });
    const container = gatewayContainer(objects);
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    const config = resolveConfig(gatewayConfigSchema, {}, env);
    expect(config).toMatchObject({
      forwardedUserKeys: ["owui"],
      oauthIssuer: "https://auth.example.com/application/o/mcp/",
      oauthResource: "https://mcp.example.com/mcp",
      oauthRequiredScopes: ["mcp"],
      oauthGroupsClaim: "realm_access.roles",
      policyFile: "/etc/shardgate/policy/policy.yaml",
    });
    expect(tokenVerifierOf(config)?.audience).toEqual(["https://mcp.example.com/mcp"]);
    expect(container.volumeMounts).toContainEqual({
      name: "policy",
      mountPath: "/etc/shardgate/policy",
      readOnly: true,
    });
    const configMap = find(objects, "ConfigMap", "sg-shardgate-gateway-policy");
    const text = (configMap.data as Record<string, string>)["policy.yaml"]!;
    expect(parse(text)).toEqual({ grants: GRANTS });
    expect(() => Policy.fromEntries(parse(text))).not.toThrow();
  });

  it("refuses OAuth without an issuer and resource, and leaves everything off by default", async () => {
    await expect(renderChart({ "gateway.oauth.enabled": true })).rejects.toThrow(
      /gateway.oauth.enabled needs gateway.oauth.issuer and gateway.oauth.resource/,
    );
    const env = (gatewayContainer(await renderChart()).env ?? []).map((e) => e.name);
    expect(env.filter((n) => /OAUTH|POLICY|FORWARDED/.test(n))).toEqual([]);
  });

  it("renders the console's provider sign-in, the client secret from a Secret", async () => {
    const objects = await renderChart({
      "gateway.oauth": {
        enabled: true,
        issuer: "https://auth.example.com/application/o/mcp/",
        resource: "https://mcp.example.com/mcp",
        console: { enabled: true, clientId: "shardgate-console", existingSecret: "console-oidc" },
      },
    });
    const container = gatewayContainer(objects);
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    expect(container.env?.find((e) => e.name === "SHARDGATE_CONSOLE_OIDC_CLIENT_SECRET")?.valueFrom).toEqual({
      secretKeyRef: { name: "console-oidc", key: "clientSecret" },
    });
    // The secret comes from the Secret at run time; here, any value in its place.
    const config = resolveConfig(
      gatewayConfigSchema,
      {},
      { ...env, SHARDGATE_CONSOLE_OIDC_CLIENT_SECRET: "s" },
    );
    expect(consoleOidcSettingsOf(config)).toEqual({
      issuer: "https://auth.example.com/application/o/mcp/",
      clientId: "shardgate-console",
      clientSecret: "s",
      redirectUrl: "https://mcp.example.com/ui/oidc/callback",
      scopes: ["openid", "profile", "email"],
      groupsClaim: "groups",
      clockToleranceSeconds: 30,
    });
    await expect(
      renderChart({
        "gateway.oauth": {
          enabled: true,
          issuer: "https://auth.example.com/",
          resource: "https://mcp.example.com/mcp",
          console: { enabled: true },
        },
      }),
    ).rejects.toThrow(/gateway.oauth.console.enabled needs gateway.oauth.console.clientId/);
  });
});

describe("chart identity signing key", () => {
  it("makes one Ed25519 key for all replicas, mounted where --identity-key-file points, which the gateway loads", async () => {
    const objects = await renderChart({ "gateway.replicas": 3 });
    const source = identityKeySource(objects);
    expect(source).toEqual({
      secretName: "sg-shardgate-gateway-identity-key",
      key: "key.pem",
      path: "/etc/shardgate/identity/key.pem",
    });
    const secret = find(objects, "Secret", source.secretName);
    // Kept on uninstall and across upgrades (lookup), like the session secret.
    expect(secret.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    const pem = Buffer.from((secret.data as Record<string, string>)[source.key]!, "base64").toString();
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const dir = await mkdtemp(join(tmpdir(), "shardgate-chart-identity-"));
    try {
      await writeFile(join(dir, "key.pem"), pem);
      // The gateway's own loader: the same key (and kid) however many times it is read.
      const [a, b] = await Promise.all([1, 2].map(() => IdentitySigner.load(join(dir, "key.pem"))));
      expect(a!.jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
      expect(a!.jwks).toEqual(b!.jwks);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("uses an existing Secret instead, makes none, and rolls the pods when it changes", async () => {
    const made = await renderChart();
    const objects = await renderChart({ "gateway.identityKey.existingSecret": "my-identity" });
    expect(identityKeySource(objects)).toMatchObject({ secretName: "my-identity", key: "key.pem" });
    expect(objects.filter((o) => o.kind === "Secret" && o.metadata.name.includes("identity"))).toEqual([]);
    const checksum = (o: readonly K8sObject[]) => gatewayPod(o).metadata.annotations["checksum/secrets"];
    expect(checksum(objects)).not.toBe(checksum(made));
    await expect(renderChart({ "gateway.identityKey.unknown": "x" })).rejects.toThrow(
      /additional properties/i,
    );
  });
});
