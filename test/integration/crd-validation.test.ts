/**
 * The generated CRD, installed in a real apiserver, refuses bad shards through
 * kubectl with messages a person can act on.
 */
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { kubectl, useNamespace } from "../harness/index.ts";

const ns = useNamespace("crd");

function shard(name: string, spec: Record<string, unknown>): string {
  return stringify({ apiVersion: "mcp.shardgate.dev/v1alpha1", kind: "McpShard", metadata: { name }, spec });
}

async function apply(yaml: string) {
  return kubectl(["apply", "-n", ns.name, "-f", "-"], { input: yaml, allowFailure: true });
}

describe("McpShard CRD validation", () => {
  it("accepts a valid shard and fills in defaults", async () => {
    const result = await apply(shard("ok", { url: "http://mcp.example.com/mcp", tools: { prefix: "ex" } }));
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    const got = await kubectl(["get", "mcpshard", "ok", "-n", ns.name, "-o", "json"]);
    const obj = JSON.parse(got.stdout) as { spec: { enabled: boolean; transport: string } };
    expect(obj.spec.enabled).toBe(true);
    expect(obj.spec.transport).toBe("streamable-http");
  });

  it("takes quantities as a Pod does (0.5, 1, 512Mi)", async () => {
    const ok = await apply(
      shard("sized", {
        container: {
          image: "x:1",
          resources: { requests: { cpu: 0.5, memory: "512Mi" }, limits: { cpu: 1 } },
          volumes: [{ name: "scratch", emptyDir: { sizeLimit: 0.5 } }],
        },
      }),
    );
    expect(ok.stderr).toBe("");
    const got = await kubectl(["get", "mcpshard", "sized", "-n", ns.name, "-o", "json"]);
    const obj = JSON.parse(got.stdout) as { spec: { container: { resources: unknown } } };
    // Stored as given: the operator states it canonically in the Deployment.
    expect(obj.spec.container.resources).toEqual({
      requests: { cpu: 0.5, memory: "512Mi" },
      limits: { cpu: 1 },
    });
  });

  it("refuses both image and url", async () => {
    const result = await apply(
      shard("both", { url: "http://mcp.example.com/mcp", container: { image: "x:1" } }),
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("exactly one of spec.container");
  });

  it("refuses a negative timeout", async () => {
    const result = await apply(
      shard("neg", { url: "http://mcp.example.com/mcp", policy: { timeoutSeconds: -5 } }),
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/spec\.policy\.timeoutSeconds.*greater than 0/);
  });

  it("refuses an invalid tool prefix", async () => {
    const result = await apply(
      shard("pfx", { url: "http://mcp.example.com/mcp", tools: { prefix: "9 bad!" } }),
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("spec.tools.prefix");
    expect(result.stderr).toContain("must start with a letter");
  });

  it("refuses a volume with two sources", async () => {
    const result = await apply(
      shard("vol", {
        container: {
          image: "x:1",
          volumes: [{ name: "data", emptyDir: {}, configMap: { name: "c" } }],
          volumeMounts: [{ name: "data", mountPath: "/data" }],
        },
      }),
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("a volume needs exactly one source");
  });

  it("refuses a mount of a volume that does not exist", async () => {
    const result = await apply(
      shard("mnt", { container: { image: "x:1", volumeMounts: [{ name: "nope", mountPath: "/data" }] } }),
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("every volumeMounts[].name must name one of the volumes");
  });

  it("refuses sse transport for a stdio shard and a non-http url", async () => {
    const sse = await apply(shard("sse", { stdio: { command: ["server"] }, transport: "sse" }));
    expect(sse.stderr).toContain("spec.transport sse does not apply to stdio shards");
    const ftp = await apply(shard("ftp", { url: "ftp://files.example.com/" }));
    expect(ftp.exitCode).not.toBe(0);
    expect(ftp.stderr).toContain("spec.url");
  });

  it("refuses a name that cannot name a Service", async () => {
    const result = await apply(shard("1abc", { url: "http://mcp.example.com/mcp" }));
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("DNS-1035");
  });

  it("is explained by kubectl explain", async () => {
    const result = await kubectl(["explain", "mcpshard.spec.policy.timeoutSeconds"]);
    expect(result.stdout).toContain("Time a tool call may take");
  });
});
