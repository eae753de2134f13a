// `helm install` of charts/shardgate into the real control plane, then the
// operator from this checkout, running with exactly the chart's operator
// RBAC, reconciles the chart's Traefik McpShard into a Deployment and a
// Service. `helm upgrade` keeps the gateway's session secret.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { AppsV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import {
  applyYaml,
  kubeConfig,
  kubeconfigPath,
  useNamespace,
  userKubeconfig,
  waitFor,
} from "../harness/index.ts";
import { CHART_DIR, helm } from "../support/chart-helpers.ts";
import { operatorCliArgs } from "./operator-support.ts";

const ns = useNamespace("helm-install");
// Cluster-scoped names carry the release name: unique per run.
const release = `sg${Math.random().toString(36).slice(2, 7)}`;
const fullname = `${release}-shardgate`;
/** What `helm install` and `helm upgrade` both name: the release, the chart, this cluster and namespace. */
const releaseArgs = () => [release, CHART_DIR, "--kubeconfig", kubeconfigPath(), "--namespace", ns.name];

describe("helm install charts/shardgate", () => {
  let operator: ChildProcess | undefined;
  let operatorLog = "";
  let installed = false;
  let notes = "";

  beforeAll(async () => {
    const result = await helm([
      "install",
      ...releaseArgs(),
      // The global setup installed crds/ already (the same object: chart-render.test.ts), unowned by Helm.
      "--set",
      "crds.enabled=false",
      "--set",
      "traefikShard.traefikApiUrl=http://traefik.example.com:8080",
      "--set",
      "ingressRoute.enabled=true",
      "--set",
      "ingressRoute.host=mcp.home.arpa",
    ]);
    if (result.exitCode !== 0) throw new Error(`helm install failed: ${result.stderr}`);
    installed = true;
    notes = result.stdout;
  });

  afterAll(async () => {
    if (operator && operator.exitCode === null) {
      const exited = new Promise((resolve) => operator?.once("exit", resolve));
      operator.kill("SIGTERM");
      await exited;
    }
    if (installed) {
      await helm(["uninstall", release, "--kubeconfig", kubeconfigPath(), "--namespace", ns.name]);
    }
  });

  it("prints how to connect Open WebUI", () => {
    expect(notes).toContain("Type: MCP (Streamable HTTP)");
    expect(notes).toContain("URL:  https://mcp.home.arpa/mcp");
    expect(notes).toContain("https://mcp.home.arpa/openapi.json");
    expect(notes).toContain("kubectl apply --server-side");
  });

  it("creates the operator, gateway, RBAC, Secrets, IngressRoute and the Traefik McpShard", async () => {
    const kc = kubeConfig();
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);

    const deployments = (await apps.listNamespacedDeployment({ namespace: ns.name })).items.map(
      (d) => d.metadata?.name,
    );
    expect(deployments.sort()).toEqual([`${fullname}-gateway`, `${fullname}-operator`]);
    const gateway = await apps.readNamespacedDeployment({ name: `${fullname}-gateway`, namespace: ns.name });
    expect(gateway.spec?.replicas).toBe(2);
    // The real ReplicaSet controller acts on it: pods exist (Pending: there is no kubelet).
    await waitFor(
      async () =>
        (
          await core.listNamespacedPod({
            namespace: ns.name,
            labelSelector: "app.kubernetes.io/component=gateway",
          })
        ).items.length === 2,
      { message: "the gateway's two pods were never created" },
    );

    const service = await core.readNamespacedService({ name: `${fullname}-gateway`, namespace: ns.name });
    expect(service.spec?.ports?.[0]?.port).toBe(80);
    const session = await core.readNamespacedSecret({
      name: `${fullname}-gateway-session`,
      namespace: ns.name,
    });
    expect(Buffer.from(session.data?.secret ?? "", "base64").length).toBeGreaterThanOrEqual(16);
    for (const name of [`${fullname}-operator`, `${fullname}-gateway`]) {
      expect((await rbac.readClusterRole({ name })).rules?.length).toBeGreaterThan(0);
      expect((await rbac.readClusterRoleBinding({ name })).subjects?.[0]?.namespace).toBe(ns.name);
    }

    const route = (await custom.getNamespacedCustomObject({
      group: "traefik.io",
      version: "v1alpha1",
      namespace: ns.name,
      plural: "ingressroutes",
      name: `${fullname}-gateway`,
    })) as { spec: { routes: { match: string }[] } };
    expect(route.spec.routes[0]?.match).toContain("Host(`mcp.home.arpa`)");

    const shard = (await custom.getNamespacedCustomObject({
      group: "mcp.shardgate.dev",
      version: "v1alpha1",
      namespace: ns.name,
      plural: "mcpshards",
      name: "traefik",
    })) as { spec: { enabled: boolean; container: { args: string[] } } };
    // Defaults applied by the apiserver from the CRD schema.
    expect(shard.spec.enabled).toBe(true);
    expect(shard.spec.container.args).toEqual(["shard", "traefik"]);
  });

  it("keeps the session secret and the identity signing key across helm upgrade", async () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const secret = async (suffix: string) =>
      (await core.readNamespacedSecret({ name: `${fullname}-gateway-${suffix}`, namespace: ns.name })).data;
    const read = async () => [(await secret("session"))?.secret, (await secret("identity-key"))?.["key.pem"]];
    const before = await read();
    expect(before.every(Boolean)).toBe(true);
    const result = await helm(["upgrade", ...releaseArgs(), "--reuse-values", "--set", "gateway.replicas=3"]);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(await read()).toEqual(before);
  });

  it("is reconciled by the operator running with the chart's RBAC", async () => {
    // A user bound to the chart's operator roles, so the test proves they suffice.
    const user = `${fullname}-op`;
    await applyYaml(
      kubeConfig(),
      `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: ${user} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${fullname}-operator }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: ${user} }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: ${user}, namespace: ${ns.name} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: ${fullname}-operator-leader }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: ${user} }]
`,
    );
    const kubeconfig = await userKubeconfig(user);
    operator = spawn(
      process.execPath,
      operatorCliArgs(kubeconfig, ns.name, [
        "--lease-name",
        `${fullname}-operator`,
        "--gateway-selector",
        "shardgate.dev/shard-client=true",
      ]),
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_FORMAT: "json" } },
    );
    operator.stdout?.on("data", (c: Buffer) => (operatorLog += c.toString()));
    operator.stderr?.on("data", (c: Buffer) => (operatorLog += c.toString()));
    onTestFailed(() => console.error(`operator log:\n${operatorLog.slice(-6000)}`));

    const kc = kubeConfig();
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const deployment = await waitFor(
      () => apps.readNamespacedDeployment({ name: "traefik", namespace: ns.name }),
      { timeoutMs: 60_000, message: "the operator never made the Traefik shard's Deployment" },
    );
    const container = deployment.spec?.template.spec?.containers[0];
    expect(container?.args).toEqual(["shard", "traefik"]);
    expect(container?.image).toBe("ghcr.io/shardgate/shardgate:0.1.0");
    expect(container?.env).toContainEqual({ name: "SHARDGATE_DYNAMIC_DIR", value: "/dynamic" });
    expect(deployment.spec?.template.spec?.volumes?.find((v) => v.name === "dynamic")?.hostPath?.path).toBe(
      "/var/lib/traefik/dynamic",
    );
    expect(deployment.metadata?.ownerReferences?.[0]?.kind).toBe("McpShard");

    const service = await waitFor(() => core.readNamespacedService({ name: "traefik", namespace: ns.name }), {
      message: "the operator never made the Traefik shard's Service",
    });
    expect(service.spec?.ports?.[0]?.port).toBe(8080);
    expect(operator.exitCode).toBeNull();
  });
});
