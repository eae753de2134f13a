/**
 * spec.egress enforced on a real node: a managed stdio shard (through
 * `shardgate bridge` in the shardgate image) whose tools fetch a URL and
 * resolve a name from inside its pod, called through the gateway Service by
 * an MCP client. Two in-cluster HTTP servers: "allowed" (named by the egress
 * list) and "forbidden". The control comes first: without spec.egress the
 * same calls reach both, so a refusal later is the policy (kube-router
 * enforcing the operator's NetworkPolicy), not a broken network.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { kubectl, waitFor } from "../harness/index.ts";
import {
  applyStdioEchoShard,
  podIP,
  podLogs,
  secondsSince,
  useChartRelease,
  waitShardReady,
} from "../harness/e2e.ts";

const chart = useChartRelease("e2e-egress", ["traefikShard.enabled=false"]);
const SHARD = "egress-probe";

/** A `hello serve` pod and its Service, labelled role=<name>. */
function helloServer(namespace: string, name: string): string {
  const labels = { role: name };
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels },
    spec: {
      containers: [
        {
          name: "hello",
          image: "docker.io/library/hello:test",
          imagePullPolicy: "Never",
          args: ["serve"],
          ports: [{ containerPort: 8080 }],
          readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 1 },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
    },
  };
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { selector: labels, ports: [{ port: 8080, targetPort: 8080 }] },
  };
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: [pod, service] });
}

function textOf(result: Awaited<ReturnType<Client["callTool"]>>): string {
  return (result.content as { text?: string }[]).map((c) => c.text ?? "").join("");
}

describe("spec.egress on a real node (kube-router enforcing the operator's NetworkPolicy)", () => {
  let client: Client | undefined;
  const url = (server: string) => `http://${server}.${chart.namespace}.svc.cluster.local:8080/`;
  const call = async (tool: "fetch" | "lookup", args: Record<string, string>) =>
    textOf(await client!.callTool({ name: `eg_${tool}`, arguments: args }));
  /** The shard's egress (undefined: none) applied, and its policy present or gone. */
  const applyEgress = async (egress: Record<string, unknown> | undefined) => {
    await applyStdioEchoShard(chart.namespace, { name: SHARD, prefix: "eg", spec: egress ? { egress } : {} });
    await waitFor(
      async () => {
        const { exitCode } = await kubectl(
          ["-n", chart.namespace, "get", "networkpolicy", `${SHARD}-egress`],
          {
            allowFailure: true,
          },
        );
        return (exitCode === 0) === (egress !== undefined);
      },
      { timeoutMs: 60_000, message: `the operator never ${egress ? "wrote" : "removed"} ${SHARD}-egress` },
    );
  };
  /** Calls fetch until its outcome starts with `prefix` (policies take a moment to apply); returns the seconds. */
  const fetchUntil = async (server: string, prefix: "reached" | "failed") => {
    const start = Date.now();
    let last = "";
    await waitFor(
      async () => {
        last = await call("fetch", { url: url(server) });
        return last.startsWith(prefix);
      },
      { timeoutMs: 60_000, intervalMs: 500, message: `fetch ${server} never ${prefix}` },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; last outcome: ${last}`);
    });
    return secondsSince(start);
  };

  beforeAll(async () => {
    await kubectl(["apply", "-f", "-"], { input: helloServer(chart.namespace, "allowed") });
    await kubectl(["apply", "-f", "-"], { input: helloServer(chart.namespace, "forbidden") });
    await applyStdioEchoShard(chart.namespace, { name: SHARD, prefix: "eg" });
    await kubectl([
      "-n",
      chart.namespace,
      "wait",
      "--for=condition=Ready",
      "pod/allowed",
      "pod/forbidden",
      "--timeout=120s",
    ]);
    console.log(
      `[e2e] McpShard ${SHARD} Ready ${await waitShardReady(chart.namespace, SHARD)} s after the gateway`,
    );
    const gateway = await chart.gateway();
    const c = new Client({ name: "e2e-egress", version: "1.0.0" });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
    client = c;
    await waitFor(async () => (await c.listTools()).tools.some((t) => t.name === "eg_fetch"), {
      timeoutMs: 60_000,
      message: "the gateway never listed eg_fetch",
    });
  });

  afterAll(async () => {
    await client?.close();
  });

  it("control: without spec.egress the shard's pod reaches both servers and resolves names", async () => {
    onTestFailed(async () =>
      console.log(await podLogs(chart.namespace, `app.kubernetes.io/instance=${SHARD}`)),
    );
    const { exitCode } = await kubectl(["-n", chart.namespace, "get", "networkpolicy", `${SHARD}-egress`], {
      allowFailure: true,
    });
    expect(exitCode).not.toBe(0);
    await fetchUntil("allowed", "reached");
    expect(await call("fetch", { url: url("forbidden") })).toMatch(/^reached 200 hello from forbidden/);
    expect(await call("lookup", { name: `forbidden.${chart.namespace}.svc.cluster.local` })).toMatch(
      /^resolved 10\.0\.0\.\d+$/,
    );
  });

  it("with an egress list naming only the allowed pods: allowed reached, forbidden refused, DNS still resolves", async () => {
    onTestFailed(async () =>
      console.log(await podLogs(chart.namespace, `app.kubernetes.io/instance=${SHARD}`)),
    );
    const applied = Date.now();
    await applyEgress({ to: [{ pods: { matchLabels: { role: "allowed" } }, ports: [{ port: 8080 }] }] });
    const refusedAfter = await fetchUntil("forbidden", "failed");
    console.log(
      `[e2e] egress enforced ${secondsSince(applied)} s after apply (fetch refused after ${refusedAfter} s)`,
    );
    expect(await call("fetch", { url: url("allowed") })).toMatch(/^reached 200 hello from allowed/);
    // Refused every time, not by chance: three more tries a second apart.
    for (let i = 0; i < 3; i++) {
      const outcome = await call("fetch", { url: url("forbidden") });
      expect(outcome).toMatch(/^failed /);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    console.log(`[e2e] forbidden fetch: ${await call("fetch", { url: url("forbidden") })}`);
    expect(await call("lookup", { name: `allowed.${chart.namespace}.svc.cluster.local` })).toMatch(
      /^resolved 10\.0\.0\.\d+$/,
    );
  });

  it("a cidr entry (the forbidden pod's address /32) lets that server through too", async () => {
    const ip = await podIP(chart.namespace, "forbidden");
    await applyEgress({
      to: [
        { pods: { matchLabels: { role: "allowed" } }, ports: [{ port: 8080 }] },
        { cidr: `${ip}/32`, ports: [{ port: 8080, protocol: "TCP" }] },
      ],
    });
    await fetchUntil("forbidden", "reached");
    expect(await call("fetch", { url: url("allowed") })).toMatch(/^reached 200/);
  });

  it("dns: false closes DNS while the listed destination stays reachable by address", async () => {
    const ip = await podIP(chart.namespace, "allowed");
    await applyEgress({
      dns: false,
      to: [{ pods: { matchLabels: { role: "allowed" } }, ports: [{ port: 8080 }] }],
    });
    const name = `allowed.${chart.namespace}.svc.cluster.local`;
    let last = "";
    await waitFor(
      async () => {
        last = await call("lookup", { name });
        return last.startsWith("failed");
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        message: `lookup still answered with dns: false (last: ${last})`,
      },
    );
    console.log(`[e2e] lookup with dns: false: ${last}`);
    expect(await call("fetch", { url: `http://${ip}:8080/` })).toMatch(/^reached 200 hello from allowed/);
  });

  it("removing spec.egress removes the policy: the forbidden server is reached again", async () => {
    await applyEgress(undefined);
    await fetchUntil("forbidden", "reached");
  });
});
