/** Helpers of the operator's integration tests: a real MCP server on loopback, an operator with only its RBAC. */
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { promisify } from "node:util";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import { parse } from "yaml";
import { KubeClient, loadKubeConfig, RESOURCES, type KubeObject } from "../../src/kube/index.ts";
import { silentLogger } from "../../src/log.ts";
import { operatorConfigSchema, startOperator, type RunningOperator } from "../../src/operator/index.ts";
import { kubeconfigPath, userKubeconfig } from "../harness/index.ts";
import { listenLoopback } from "../harness/net.ts";

export interface LoopbackMcp {
  readonly url: string;
  close(): Promise<void>;
}

/** A stateless streamable-HTTP MCP server with two tools, on 127.0.0.1:0. */
export async function startLoopbackMcp(tools = ["echo", "add"]): Promise<LoopbackMcp> {
  const server: Server = createServer((req, res) => {
    const mcp = new McpServer({ name: "loopback-test", version: "1.2.3" });
    for (const name of tools) {
      mcp.registerTool(
        name,
        { description: `test tool ${name}`, inputSchema: { text: z.string().optional() } },
        () => ({
          content: [{ type: "text", text: name }],
        }),
      );
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on("close", () => {
      void transport.close();
      void mcp.close();
    });
    void mcp.connect(transport).then(() => transport.handleRequest(req, res));
  });
  const port = await listenLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Installs deploy/rbac/operator-clusterrole.yaml and binds it to `user`; returns an admin client. */
export async function grantOperatorRbac(adminKubeconfig: string, user: string): Promise<void> {
  const admin = new KubeClient(loadKubeConfig({ kubeconfig: adminKubeconfig }));
  try {
    const role = parse(
      await readFile(join(import.meta.dirname, "../../deploy/rbac/operator-clusterrole.yaml"), "utf8"),
    ) as KubeObject;
    await admin.apply(
      {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRole",
        plural: "clusterroles",
        namespaced: false,
      },
      role,
      {
        fieldManager: "shardgate-test",
      },
    );
    await admin.apply(
      {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRoleBinding",
        plural: "clusterrolebindings",
        namespaced: false,
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `shardgate-operator-${user}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "shardgate-operator" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
      },
      { fieldManager: "shardgate-test" },
    );
  } finally {
    await admin.close();
  }
}

export function adminClient(kubeconfig: string): KubeClient {
  return new KubeClient(loadKubeConfig({ kubeconfig }));
}

export function shardManifest(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "mcp.shardgate.dev/v1alpha1", kind: "McpShard", metadata: { name, namespace }, spec };
}

export { RESOURCES };

const run = promisify(execFile);

/** Installs crds/ into a dedicated control plane and waits until the CRDs are Established. */
export async function installCrds(kubeconfig: string): Promise<void> {
  await run("kubectl", [
    "--kubeconfig",
    kubeconfig,
    "apply",
    "--server-side",
    "-f",
    join(import.meta.dirname, "../../crds"),
  ]);
  // Right after creation a CRD has no conditions yet, and kubectl wait fails instead of waiting.
  for (let attempt = 0; ; attempt++) {
    try {
      await run("kubectl", [
        "--kubeconfig",
        kubeconfig,
        "wait",
        "--for=condition=Established",
        "crd",
        "--all",
      ]);
      return;
    } catch (error) {
      if (attempt >= 40) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * An in-process operator running as `user` (granted deploy/rbac's ClusterRole
 * first), watching `namespace` and holding its lease there; `settings` adds
 * to (or overrides) that configuration.
 */
export async function startOperatorAs(
  user: string,
  namespace: string,
  settings: Record<string, string> = {},
): Promise<RunningOperator> {
  await grantOperatorRbac(kubeconfigPath(), user);
  const config = operatorConfigSchema.parse({
    kubeconfig: await userKubeconfig(user),
    namespaces: namespace,
    metricsHost: "127.0.0.1",
    metricsPort: "0",
    leaseNamespace: namespace,
    ...settings,
  });
  return startOperator(config, silentLogger());
}

/**
 * The command line (after node) of a `shardgate operator` process that logs in
 * with `kubeconfig`, watches `namespace` and holds its lease there, its metrics
 * on a free loopback port; flags in `extra` follow.
 */
export function operatorCliArgs(kubeconfig: string, namespace: string, extra: readonly string[]): string[] {
  return [
    join(import.meta.dirname, "../../src/cli.ts"),
    "operator",
    "--kubeconfig",
    kubeconfig,
    "--namespaces",
    namespace,
    "--lease-namespace",
    namespace,
    "--metrics-host",
    "127.0.0.1",
    "--metrics-port",
    "0",
    ...extra,
  ];
}
