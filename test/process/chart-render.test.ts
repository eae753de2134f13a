// The Helm chart rendered by the real helm binary: lint, objects, secure
// defaults, values schema, RBAC in step with cdk8s/lib/rbac.ts, CRD copy.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  GATEWAY_CLUSTER_RULES,
  OPERATOR_CLUSTER_RULES,
  OPERATOR_LEADER_RULES,
  OPERATOR_RULES,
  TRAEFIK_SHARD_RULES,
  chartValuesSchema,
} from "../../cdk8s/main.ts";
import { mcpShard } from "../../src/api/index.ts";
import { mcpShardCrd } from "../../src/api/crd.ts";
import { CHART_DIR, find, helm, renderChart, type K8sObject } from "../support/chart-helpers.ts";

type PodSpec = {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  containers: {
    name: string;
    args?: string[];
    env?: { name: string; value?: string; valueFrom?: unknown }[];
    securityContext?: Record<string, unknown>;
    livenessProbe?: { httpGet?: { path: string } };
    readinessProbe?: { httpGet?: { path: string } };
    volumeMounts?: { name: string; mountPath: string }[];
  }[];
  volumes?: { name: string; secret?: { secretName: string } }[];
};

function podSpec(deployment: K8sObject): PodSpec {
  return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
}

function envOf(deployment: K8sObject): Record<string, string | undefined> {
  return Object.fromEntries((podSpec(deployment).containers[0]?.env ?? []).map((e) => [e.name, e.value]));
}

describe("charts/shardgate", () => {
  it("passes helm lint (strict)", async () => {
    const result = await helm(["lint", "--strict", CHART_DIR, "--kube-version", "1.36.0"]);
    expect(result.stderr + result.stdout).toContain("0 chart(s) failed");
    expect(result.exitCode).toBe(0);
  });

  it("renders operator, gateway and the Traefik shard with secure pods", async () => {
    const objects = await renderChart();
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        "ClusterRole/sg-shardgate-gateway",
        "ClusterRole/sg-shardgate-operator",
        "ClusterRoleBinding/sg-shardgate-gateway",
        "ClusterRoleBinding/sg-shardgate-operator",
        "CustomResourceDefinition/mcpshards.mcp.shardgate.dev",
        "Deployment/sg-shardgate-gateway",
        "Deployment/sg-shardgate-operator",
        "McpShard/traefik",
        "Pod/sg-shardgate-test-health",
        "PodDisruptionBudget/sg-shardgate-gateway",
        "Role/sg-shardgate-operator-leader",
        "RoleBinding/sg-shardgate-operator-leader",
        "Secret/sg-shardgate-gateway-identity-key",
        "Secret/sg-shardgate-gateway-session",
        "Service/sg-shardgate-gateway",
        "Service/sg-shardgate-operator-metrics",
        "ServiceAccount/sg-shardgate-gateway",
        "ServiceAccount/sg-shardgate-operator",
      ].sort(),
    );
    for (const o of objects) {
      if (!o.kind.startsWith("Cluster") && o.kind !== "CustomResourceDefinition")
        expect(o.metadata.namespace, `${o.kind}`).toBe("shardgate");
    }

    for (const name of ["sg-shardgate-operator", "sg-shardgate-gateway"]) {
      const pod = podSpec(find(objects, "Deployment", name));
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 65532,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(pod.containers[0]?.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
      expect(pod.serviceAccountName).toBe(name);
    }

    const operator = find(objects, "Deployment", "sg-shardgate-operator");
    expect(podSpec(operator).containers[0]?.args).toEqual(["operator"]);
    expect(envOf(operator)).toMatchObject({
      SHARDGATE_LEADER_ELECT: "true",
      SHARDGATE_LEASE_NAME: "sg-shardgate-operator",
      SHARDGATE_METRICS_PORT: "8081",
      SHARDGATE_GATEWAY_SELECTOR: "shardgate.dev/shard-client=true",
    });
    expect(podSpec(operator).containers[0]?.readinessProbe?.httpGet?.path).toBe("/readyz");

    const gateway = find(objects, "Deployment", "sg-shardgate-gateway");
    expect((gateway.spec as { replicas: number }).replicas).toBe(2);
    expect(envOf(gateway)).toMatchObject({ SHARDGATE_SESSION_SECRET_FILE: "/etc/shardgate/session/secret" });
    expect(envOf(gateway).SHARDGATE_API_KEYS).toBeUndefined();
    expect(podSpec(gateway).volumes?.find((v) => v.name === "session")?.secret?.secretName).toBe(
      "sg-shardgate-gateway-session",
    );
    // The operator's NetworkPolicies admit shard clients by this label: both must carry it.
    for (const d of [operator, gateway]) {
      const labels = (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template
        .metadata.labels;
      expect(labels["shardgate.dev/shard-client"]).toBe("true");
    }

    const session = find(objects, "Secret", "sg-shardgate-gateway-session");
    const secret = Buffer.from((session.data as { secret: string }).secret, "base64").toString();
    expect(secret.length).toBeGreaterThanOrEqual(16);
    expect(session.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
  });

  it("declares the Traefik shard as a valid McpShard in file mode with a hostPath", async () => {
    const objects = await renderChart({ "traefikShard.traefikApiUrl": "http://traefik.kube-system:9000" });
    const shard = mcpShard.parse(find(objects, "McpShard", "traefik"));
    expect(shard.spec.container?.args).toEqual(["shard", "traefik"]);
    const env = Object.fromEntries((shard.spec.container?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      SHARDGATE_MODE: "file",
      SHARDGATE_DYNAMIC_DIR: "/dynamic",
      SHARDGATE_TRAEFIK_API_URL: "http://traefik.kube-system:9000",
    });
    expect(shard.spec.container?.volumes).toEqual([
      { name: "dynamic", hostPath: { path: "/var/lib/traefik/dynamic", type: "DirectoryOrCreate" } },
    ]);

    const nfs = mcpShard.parse(
      find(
        await renderChart({
          "traefikShard.dynamicDir": {
            type: "nfs",
            nfs: { server: "nas.home.arpa", path: "/traefik" },
            hostPath: { path: "/x" },
            existingClaim: "",
          },
        }),
        "McpShard",
      ),
    );
    expect(nfs.spec.container?.volumes?.[0]).toEqual({
      name: "dynamic",
      nfs: { server: "nas.home.arpa", path: "/traefik" },
    });
    const pvc = mcpShard.parse(
      find(
        await renderChart({
          "traefikShard.dynamicDir.type": "existingClaim",
          "traefikShard.dynamicDir.existingClaim": "dyn",
        }),
        "McpShard",
      ),
    );
    expect(pvc.spec.container?.volumes?.[0]).toEqual({
      name: "dynamic",
      persistentVolumeClaim: { claimName: "dyn" },
    });
  });

  it("gives the Traefik shard IngressRoute rights in one namespace in ingressroute mode", async () => {
    const objects = await renderChart({
      "traefikShard.mode": "ingressroute",
      "traefikShard.routeNamespace": "edge",
    });
    const shard = mcpShard.parse(find(objects, "McpShard", "traefik"));
    expect(shard.spec.container?.volumes).toBeUndefined();
    expect(shard.spec.container?.serviceAccount).toEqual({
      create: false,
      name: "sg-shardgate-traefik-shard",
    });
    const env = Object.fromEntries((shard.spec.container?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ SHARDGATE_MODE: "ingressroute", SHARDGATE_NAMESPACE: "edge" });
    const role = find(objects, "Role", "sg-shardgate-traefik-shard");
    expect(role.metadata.namespace).toBe("edge");
    expect(role.rules).toEqual(TRAEFIK_SHARD_RULES);
    const binding = find(objects, "RoleBinding", "sg-shardgate-traefik-shard");
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "sg-shardgate-traefik-shard", namespace: "shardgate" },
    ]);
  });

  it("grants exactly the rules of cdk8s/lib/rbac.ts", async () => {
    const objects = await renderChart({ "gateway.authSecretNames": ["ha-token"] });
    expect(find(objects, "ClusterRole", "sg-shardgate-operator").rules).toEqual(OPERATOR_CLUSTER_RULES);
    expect(find(objects, "Role", "sg-shardgate-operator-leader").rules).toEqual(OPERATOR_LEADER_RULES);
    // Together: exactly deploy/rbac/operator-clusterrole.yaml, nothing lost in the split.
    expect([...OPERATOR_CLUSTER_RULES, ...OPERATOR_LEADER_RULES]).toHaveLength(OPERATOR_RULES.length);
    expect(OPERATOR_LEADER_RULES).toEqual([
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
    ]);
    expect(find(objects, "ClusterRole", "sg-shardgate-gateway").rules).toEqual([
      ...GATEWAY_CLUSTER_RULES,
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["ha-token"] },
    ]);
    // No auth Secrets named: the gateway cannot read any Secret.
    const plain = find(await renderChart(), "ClusterRole", "sg-shardgate-gateway");
    expect(plain.rules).toEqual(GATEWAY_CLUSTER_RULES);
  });

  it("mounts an API-key Secret when keys are enabled", async () => {
    const objects = await renderChart({
      "gateway.apiKeys": { enabled: true, existingSecret: "", keys: { openwebui: "0123456789abcdef0123" } },
    });
    const keys = find(objects, "Secret", "sg-shardgate-gateway-api-keys");
    expect(keys.stringData).toEqual({ openwebui: "0123456789abcdef0123" });
    const gateway = find(objects, "Deployment", "sg-shardgate-gateway");
    expect(envOf(gateway).SHARDGATE_API_KEYS).toBe("/etc/shardgate/api-keys");
    expect(podSpec(gateway).containers[0]?.volumeMounts).toContainEqual({
      name: "api-keys",
      mountPath: "/etc/shardgate/api-keys",
      readOnly: true,
    });
    const existing = await renderChart({
      "gateway.apiKeys.enabled": true,
      "gateway.apiKeys.existingSecret": "mine",
    });
    expect(existing.some((o) => o.metadata.name === "sg-shardgate-gateway-api-keys")).toBe(false);
    expect(podSpec(find(existing, "Deployment", "sg-shardgate-gateway")).volumes).toContainEqual({
      name: "api-keys",
      secret: { secretName: "mine" },
    });
  });

  it("exposes /mcp, /sse and /messages through an IngressRoute without middlewares", async () => {
    const objects = await renderChart({
      "ingressRoute.enabled": true,
      "ingressRoute.host": "mcp.home.arpa",
      "ingressRoute.middlewares": [{ name: "compress", namespace: "traefik" }],
      "ingressRoute.tls.certResolver": "letsencrypt",
    });
    const route = find(objects, "IngressRoute");
    expect(route.apiVersion).toBe("traefik.io/v1alpha1");
    const spec = route.spec as {
      entryPoints: string[];
      routes: { match: string; middlewares?: unknown[]; services: { name: string; port: number }[] }[];
      tls: unknown;
    };
    expect(spec.entryPoints).toEqual(["websecure"]);
    const [streams, rest] = spec.routes;
    expect(streams?.match).toBe(
      "Host(`mcp.home.arpa`) && (PathPrefix(`/mcp`) || PathPrefix(`/sse`) || PathPrefix(`/messages`))",
    );
    expect(streams?.middlewares).toBeUndefined();
    expect(streams?.services).toEqual([
      { name: "sg-shardgate-gateway", port: 80, responseForwarding: { flushInterval: "1ms" } },
    ]);
    expect(rest?.match).toBe("Host(`mcp.home.arpa`) && !PathPrefix(`/metrics`)");
    expect(rest?.middlewares).toEqual([{ name: "compress", namespace: "traefik" }]);
    expect(spec.tls).toEqual({ certResolver: "letsencrypt" });

    const bySecret = find(
      await renderChart({ "ingressRoute.enabled": true, "ingressRoute.tls.secretName": "mcp-tls" }),
      "IngressRoute",
    );
    expect((bySecret.spec as { tls: unknown }).tls).toEqual({ secretName: "mcp-tls" });
  });

  it("renders a helm test Pod that checks /health", async () => {
    const objects = await renderChart({}, { showOnly: "templates/tests/test-health.yaml" });
    const pod = find(objects, "Pod");
    expect(pod.metadata.annotations?.["helm.sh/hook"]).toBe("test");
    expect(JSON.stringify(pod.spec)).toContain("http://sg-shardgate-gateway.shardgate.svc:80/health");
  });

  it("rejects a misspelt key through values.schema.json", async () => {
    for (const typo of ["gateway.replica=3", "operater.enabled=true", "ingressRoute.tls.certresolver=le"]) {
      const result = await helm(["template", "sg", CHART_DIR, "--kube-version", "1.36.0", "--set", typo]);
      expect(result.exitCode, typo).not.toBe(0);
      expect(result.stderr).toContain("additional properties");
    }
    const bad = await helm([
      "template",
      "sg",
      CHART_DIR,
      "--kube-version",
      "1.36.0",
      "--set",
      "traefikShard.mode=crd",
    ]);
    expect(bad.exitCode).not.toBe(0);
  });

  it("documents every key of values.yaml, which the schema accepts", async () => {
    const text = await readFile(join(CHART_DIR, "values.yaml"), "utf8");
    expect(chartValuesSchema.safeParse(parse(text)).success).toBe(true);
    // Every key of ours has a comment line right above it, or opens a block of
    // keys; Kubernetes pass-through blocks (securityContext, resources) are
    // documented once at their top.
    const passThrough = new Set(["podSecurityContext", "containerSecurityContext", "resources"]);
    const lines = text.split("\n");
    const parents: { indent: number; key: string }[] = [];
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      const match = /^(\s*)([A-Za-z]\w*):/.exec(line);
      if (!match) return;
      const indent = match[1]?.length ?? 0;
      while (parents.length > 0 && (parents.at(-1)?.indent ?? 0) >= indent) parents.pop();
      const inPassThrough = parents.some((p) => passThrough.has(p.key));
      parents.push({ indent, key: match[2] ?? "" });
      if (inPassThrough || line.trimEnd().endsWith(":")) return;
      if (!(lines[i - 1] ?? "").trim().startsWith("#")) undocumented.push(`${i + 1}: ${line.trim()}`);
    });
    expect(undocumented).toEqual([]);
  });

  it("renders the CRD generated from the API as a template, kept on uninstall unless told", async () => {
    const [crd] = await renderChart({}, { showOnly: "templates/crd-mcp.shardgate.dev_mcpshards.yaml" });
    const { annotations, ...metadata } = crd!.metadata;
    // The same object as crds/ (which the drift test keeps equal to the zod schema), plus Helm's annotation.
    expect({ ...crd, metadata }).toEqual(mcpShardCrd());
    expect(annotations).toEqual({ "helm.sh/resource-policy": "keep" });
    const [loose] = await renderChart(
      { "crds.keep": false },
      { showOnly: "templates/crd-mcp.shardgate.dev_mcpshards.yaml" },
    );
    expect(loose?.metadata.annotations ?? null).toBeNull();
    const none = await renderChart({ "crds.enabled": false });
    expect(none.filter((o) => o.kind === "CustomResourceDefinition")).toEqual([]);
  });

  it("rolls the gateway when its API keys change (checksum annotation), not otherwise", async () => {
    const checksum = async (values: Record<string, unknown>) => {
      const objects = await renderChart(values);
      const d = find(objects, "Deployment", "sg-shardgate-gateway");
      return (d.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata
        .annotations["checksum/secrets"];
    };
    const keys = { "gateway.apiKeys.enabled": true, "gateway.apiKeys.keys": { webui: "a".repeat(32) } };
    const before = await checksum(keys);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(await checksum(keys)).toBe(before);
    expect(await checksum({ ...keys, "gateway.apiKeys.keys": { webui: "b".repeat(32) } })).not.toBe(before);
    expect(await checksum({ ...keys, "gateway.replicas": 3 })).toBe(before);
  });

  it("keeps a PodDisruptionBudget for two or more gateway replicas only", async () => {
    const objects = await renderChart();
    const pdb = find(objects, "PodDisruptionBudget", "sg-shardgate-gateway");
    const gateway = find(objects, "Deployment", "sg-shardgate-gateway");
    const selector = (gateway.spec as { selector: unknown }).selector;
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector });
    const one = await renderChart({ "gateway.replicas": 1 });
    expect(one.filter((o) => o.kind === "PodDisruptionBudget")).toEqual([]);
  });

  it("renders ServiceMonitors for the operator's and the gateway's /metrics when asked", async () => {
    expect((await renderChart()).filter((o) => o.kind === "ServiceMonitor")).toEqual([]);
    const objects = await renderChart({
      "serviceMonitor.enabled": true,
      "serviceMonitor.labels": { release: "prom" },
    });
    const monitors = objects.filter((o) => o.kind === "ServiceMonitor");
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual([
      "sg-shardgate-gateway",
      "sg-shardgate-operator",
    ]);
    for (const m of monitors) {
      expect(m.metadata.labels?.release).toBe("prom");
      const spec = m.spec as {
        selector: { matchLabels: Record<string, string> };
        endpoints: Array<{ port: string }>;
      };
      // The selector finds the component's Service, on the named port the Service has.
      const service = objects.find(
        (o) =>
          o.kind === "Service" &&
          Object.entries(spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
      );
      const ports = (service?.spec as { ports: Array<{ name: string }> } | undefined)?.ports ?? [];
      expect(ports.map((p) => p.name)).toContain(spec.endpoints[0]?.port);
    }
  });
});
