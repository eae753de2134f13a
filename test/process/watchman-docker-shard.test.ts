/**
 * `shardgate shard watchman --backend docker`, the real CLI served by the
 * shard kit, called by an MCP SDK client: the three tools and the prompt
 * against a real Docker Engine behind the real GET-only socket proxy
 * (test/harness/docker.ts), and the raw socket refused at start.
 */
import { spawn } from "node:child_process";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startDockerEngine,
  startSocketProxy,
  type DockerEngine,
  type SocketProxy,
} from "../harness/docker.ts";
import { ROOT, startCli, stopCli, type CliProcess } from "../support/cli-process.ts";
import { startGateway, type TestGateway } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import { connectStreamable } from "../support/mcp.ts";
import { callTool } from "../support/traefik.ts";

let engine: DockerEngine;
let proxy: SocketProxy;
let shard: CliProcess | undefined;
let client: Client;

const SECRET = `ghp_${"A1b2C3d4E5".repeat(3)}abcdef`;

beforeAll(async () => {
  engine = await startDockerEngine();
  proxy = await startSocketProxy(engine.socketPath);
  const compose = (service: string, n: number) => ({
    "com.docker.compose.project": "homelab",
    "com.docker.compose.service": service,
    "com.docker.compose.container-number": String(n),
  });
  await engine.run({
    name: "homelab-gitea-1",
    labels: compose("gitea", 1),
    script: [
      'echo "gitea starting on :3000"',
      "sleep 0.3",
      `echo "ERROR database: dial tcp db:5432: connect: connection refused (token ${SECRET})" >&2`,
      "sleep 0.3",
      "printf '\\033[31mretrying in 5s\\033[0m\\n'",
      "exec sleep 3600",
    ].join("; "),
  });
  await engine.run({
    name: "homelab-db-1",
    labels: compose("db", 1),
    restartPolicy: { Name: "on-failure", MaximumRetryCount: 1 },
    script: 'echo "FATAL: data directory has wrong ownership" >&2; exit 1',
  });
  await eventually(async () => {
    const db = JSON.parse((await engine.api("GET", "/containers/homelab-db-1/json")).body) as {
      RestartCount: number;
      State: { Status: string };
    };
    const gitea = (await engine.api("GET", "/containers/homelab-gitea-1/logs?stdout=1&stderr=1")).body;
    return db.RestartCount === 1 && db.State.Status === "exited" && gitea.includes("retrying");
  }, "the db container to crash twice and gitea to log its retry");
  shard = await startCli(["shard", "watchman", "--backend", "docker", "--host", "127.0.0.1", "--port", "0"], {
    DOCKER_HOST: proxy.dockerHost,
  });
  client = await connectStreamable(shard.url);
}, 90_000);

afterAll(async () => {
  await client?.close();
  await stopCli(shard);
  await proxy?.stop();
  await engine?.stop();
});

describe("the Watchman shard on a Docker host", () => {
  it("lists the three read-only tools and the diagnose prompt", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["get_container_stats", "search_logs", "tail_logs"]);
    for (const tool of tools) expect(tool.annotations?.readOnlyHint).toBe(true);
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toContain("diagnose_service");
  });

  it("tail_logs: a compose service's lines, ANSI stripped, secrets redacted, ISO timestamps", async () => {
    const answer = await callTool(client, "tail_logs", { target: "gitea", lines: 10 });
    expect(answer.isError).toBe(false);
    const text = JSON.stringify(answer.body);
    expect(text).toContain("dial tcp db:5432: connect: connection refused");
    expect(text).toContain("retrying in 5s");
    expect(text).not.toContain("\\u001b[");
    expect(text).not.toContain(SECRET);
    expect(text).toMatch(/"timestamp":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"/);
    expect(text).toContain("homelab-gitea-1");
  });

  it("search_logs: matches across every container, with container and timestamp", async () => {
    const answer = await callTool(client, "search_logs", { pattern: "fatal|refused", ignore_case: true });
    expect(answer.isError).toBe(false);
    const matches = answer.body.matches as { container?: string; text: string; timestamp?: string }[];
    const where = matches.map((m) => JSON.stringify(m));
    expect(where.filter((m) => m.includes("homelab-db-1") && m.includes("FATAL"))).toHaveLength(2);
    expect(
      where.filter((m) => m.includes("homelab-gitea-1") && m.includes("connection refused")),
    ).toHaveLength(1);
    expect(matches.every((m) => m.timestamp !== undefined)).toBe(true);
  });

  it("get_container_stats: the crashed container's restarts and exit code, the running one's usage", async () => {
    const db = await callTool(client, "get_container_stats", { target: "service/db" });
    expect(db.isError).toBe(false);
    expect(db.body).toMatchObject({
      backend: "docker",
      usageSource: "docker",
      containers: [
        {
          container: "homelab-db-1",
          state: "exited (code 1)",
          restarts: 1,
          lastTermination: { reason: "Error", exitCode: 1 },
        },
      ],
    });
    const gitea = await callTool(client, "get_container_stats", { target: "homelab-gitea-1" });
    const [stats] = gitea.body.containers as { state: string; memoryBytes?: number; cpuCores?: number }[];
    expect(stats?.state).toBe("running");
    expect(stats?.memoryBytes).toBeGreaterThan(0);
    expect(typeof stats?.cpuCores).toBe("number");
  });

  it("answers a missing container and a namespace with errors a model can act on", async () => {
    const missing = await callTool(client, "tail_logs", { target: "nextcloud" });
    expect(missing.isError).toBe(true);
    expect(JSON.stringify(missing.body)).toMatch(
      /no container \\"nextcloud\\".*homelab-gitea-1, homelab-db-1/,
    );
    const namespaced = await callTool(client, "tail_logs", { target: "gitea", namespace: "apps" });
    expect(namespaced.isError).toBe(true);
    expect(JSON.stringify(namespaced.body)).toContain("containers have no namespace");
  });

  it("reports the engine in its health check", async () => {
    const res = await fetch(`${shard?.url}/health`);
    expect(JSON.stringify(await res.json())).toMatch(
      /Docker Engine 20\.10\.\S+ \(API 1\.41\) at tcp:\/\/127\.0\.0\.1:\d+/,
    );
  });
});

describe("through the gateway", () => {
  let gateway: TestGateway;
  let viaGateway: Client;
  beforeAll(async () => {
    gateway = await startGateway({ watchman: { url: `${shard?.url}/mcp` } });
    viaGateway = await connectStreamable(gateway.base);
  });
  afterAll(async () => {
    await viaGateway?.close();
    await gateway?.close();
  });

  it("serves the tools as watchman_*, and the crashed container's error reaches the client", async () => {
    // The gateway lists a shard's tools once it has connected to it.
    await eventually(async () => {
      const names = (await viaGateway.listTools()).tools.map((t) => t.name);
      return ["watchman_tail_logs", "watchman_search_logs", "watchman_get_container_stats"].every((n) =>
        names.includes(n),
      );
    }, "the gateway to list the watchman tools");
    const logs = await callTool(viaGateway, "watchman_tail_logs", { target: "db", lines: 5 });
    expect(logs.isError).toBe(false);
    expect(JSON.stringify(logs.body)).toContain("FATAL: data directory has wrong ownership");
    const stats = await callTool(viaGateway, "watchman_get_container_stats", { target: "db" });
    expect(JSON.stringify(stats.body)).toContain('"restarts":1');
  });

  it("diagnose_service's Watchman steps, run as the prompt gives them, surface the service's error line", async () => {
    const prompt = await viaGateway.getPrompt({
      name: "watchman_diagnose_service",
      arguments: { service: "gitea" },
    });
    const text = prompt.messages.map((m) => (m.content.type === "text" ? m.content.text : "")).join("\n");
    // On Docker the prompt says a Traefik server URL's host names the container: compose's
    // http://gitea:3000 gives "gitea", which is the compose service of homelab-gitea-1.
    expect(text).toMatch(/server URL names a container/);
    const steps = [...text.matchAll(/[Cc]all (watchman_\w+) with (\{[^}]*\})/g)].map((m) => ({
      tool: m[1] ?? "",
      args: JSON.parse((m[2] ?? "{}").replaceAll("<target>", "gitea")) as Record<string, unknown>,
    }));
    expect(steps.map((s) => s.tool)).toEqual([
      "watchman_get_container_stats",
      "watchman_tail_logs",
      "watchman_search_logs",
    ]);
    const answers = [];
    for (const step of steps) {
      const answer = await callTool(viaGateway, step.tool, step.args);
      expect(answer.isError, `${step.tool}: ${JSON.stringify(answer.body)}`).toBe(false);
      answers.push(JSON.stringify(answer.body));
    }
    expect(answers[0]).toContain('"container":"homelab-gitea-1"');
    // tail_logs reads the compose service of that name; search_logs every container whose name holds it.
    expect(answers[1]).toContain("read compose service gitea instead (homelab-gitea-1)");
    for (const answer of answers.slice(1)) {
      expect(answer).toContain("ERROR database: dial tcp db:5432: connect: connection refused");
    }
  });
});

/** Runs the CLI to its end; resolves with its exit code and output. */
function runShardCli(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["src/cli.ts", "shard", "watchman", "--backend", "docker", "--port", "0"],
      {
        cwd: ROOT,
        env: { ...process.env, LOG_FORMAT: "json", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("starting against the raw socket", () => {
  it("is refused with the reason and the way out", async () => {
    const { code, output } = await runShardCli({ DOCKER_HOST: `unix://${engine.socketPath}` });
    expect(code).not.toBe(0);
    expect(output).toContain(`refusing to read Docker through the raw socket unix://${engine.socketPath}`);
    expect(output).toContain("--allow-raw-socket");
  });
});
