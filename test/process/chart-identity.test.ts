/**
 * The chart's identity values, rendered by the real helm binary, are what the
 * gateway reads: the OAuth, forwarded-user and policy settings of the pod's
 * environment pass the gateway's own config schema, and the policy ConfigMap
 * (outside the restart checksum, so it is reloaded live) parses as a policy.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { resolveConfig } from "../../src/config/index.ts";
import { Policy } from "../../src/gateway/index.ts";
import { tokenVerifierOf } from "../../src/gateway/auth/load.ts";
import { gatewayConfigSchema } from "../../src/gateway/config.ts";
import { consoleOidcSettingsOf } from "../../src/gateway/ui/oidc.ts";
import { find, renderChart, type K8sObject } from "../support/chart-helpers.ts";

type Container = {
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts?: { name: string; mountPath: string }[];
};

function gatewayContainer(objects: readonly K8sObject[]): Container {
  const deployment = objects.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-gateway"))!;
  return (deployment.spec as { template: { spec: { containers: Container[] } } }).template.spec
    .containers[0]!;
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
