/**
 * `make run` with the node (hack/run-local.ts as root, node pieces built):
 * its own control plane and node beside the e2e tier's, the gateway inside
 * the node's namespace. READY must come with a pod-backed McpShard Ready (the
 * offline conformance shard from the local image) and its tool answering
 * through the printed gateway URL, the Traefik shard on host loopback
 * answering through the same gateway (the node → host bridge), and SIGINT
 * leaving no process, mount, cgroup or directory of the node behind.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { waitFor } from "../harness/index.ts";
import { alive, descendants, startRunLocal, type RunLocal } from "../support/run-local.ts";

/** Cgroup directories named after the node (its kubelet's cgroupRoot), in any v1 hierarchy or v2. */
function nodeCgroups(nodeDir: string): string[] {
  const name = basename(nodeDir);
  return readdirSync("/sys/fs/cgroup")
    .map((controller) => `/sys/fs/cgroup/${controller}/${name}`)
    .concat(`/sys/fs/cgroup/${name}`)
    .filter((path) => existsSync(path));
}

describe("make run with the node", () => {
  let stack: RunLocal | undefined;

  afterAll(() => stack?.kill());

  it("starts with a pod-backed shard Ready, serves its tool and the Traefik shard's through the gateway, and stops cleanly", async () => {
    const startedAt = Date.now();
    const started = startRunLocal({ SHARDGATE_RUN_NODE: "1" });
    stack = started;
    onTestFailed(() => console.error(`run-local output:\n${started.output()}`));

    const { gatewayUrl } = await started.ready(280_000);
    console.log(
      `[e2e] make run with the node: READY after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    );
    const nodeDir = /\(node: (\/\S+)\)/.exec(started.output())?.[1];
    expect(nodeDir, "run-local printed no node directory: it ran without the node").toBeDefined();
    // READY does not wait for pods: it follows them with a line per change.
    await waitFor(() => /examples\/conformance: Ready/.test(started.output()), { timeoutMs: 180_000 }).catch(
      () => {
        throw new Error("run-local never reported examples/conformance Ready");
      },
    );
    // The examples that need the internet say why they are not Ready.
    await waitFor(
      () => /examples\/fetch: not Ready: .*(ErrImagePull|ImagePullBackOff)/.test(started.output()),
      {
        timeoutMs: 120_000,
      },
    ).catch(() => {
      throw new Error("run-local never said why examples/fetch is not Ready");
    });
    console.log(
      `[e2e] ${started
        .output()
        .split("\n")
        .filter((l) => /examples\/conformance: Ready/.test(l))
        .join(" | ")}`,
    );

    const client = new Client({ name: "run-local-node", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(gatewayUrl)));
    try {
      const text = (r: Awaited<ReturnType<Client["callTool"]>>) => JSON.stringify(r.content);
      await waitFor(
        async () => (await client.listTools()).tools.some((t) => t.name === "local_test_simple_text"),
        {
          timeoutMs: 60_000,
          message: "the gateway never listed local_test_simple_text",
        },
      );
      const pod = await client.callTool({ name: "local_test_simple_text", arguments: {} });
      expect(pod.isError, text(pod)).toBeFalsy();
      expect(text(pod)).toContain("This is a simple text response for testing.");
      const traefik = await client.callTool({ name: "traefik_list_routes", arguments: {} });
      expect(traefik.isError, text(traefik)).toBeFalsy();
      expect(text(traefik)).toContain("api@internal");
    } finally {
      await client.close();
    }

    const children = descendants(started.child.pid!);
    expect(await started.interrupt()).toBe(0);
    expect(started.output()).toContain("stopped.");
    await waitFor(() => children.every((pid) => !alive(pid)), { timeoutMs: 15_000 }).catch(() => {
      throw new Error(`processes still alive after SIGINT: ${children.filter(alive).join(", ")}`);
    });
    expect(existsSync(nodeDir!)).toBe(false);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(nodeDir!);
    expect(nodeCgroups(nodeDir!)).toEqual([]);
  });
});
