/**
 * The Watchman shard's Docker backend against a real Docker Engine (Debian's
 * docker.io, in namespaces of its own: test/harness/docker.ts) behind a real
 * GET-only socket proxy (HAProxy with examples/watchman-docker/haproxy.cfg).
 * Containers run a busybox image imported from a tarball (no registry): two
 * replicas of a compose-style service that log known lines on stdout and
 * stderr, one that crashes and is restarted by Docker, one with a TTY.
 */
import { request } from "node:http";
import { connect, createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  WatchmanNotFound,
  WatchmanRefusal,
  type LogBackend,
  type TailLogsRequest,
} from "../../src/shards/watchman/backend.ts";
import { createDockerApi } from "../../src/shards/watchman/docker/client.ts";
import {
  createDockerBackend,
  DockerHostError,
  parseDockerHost,
} from "../../src/shards/watchman/docker/index.ts";
import {
  startDockerEngine,
  startSocketProxy,
  type DockerEngine,
  type SocketProxy,
} from "../harness/docker.ts";
import { eventually } from "../support/wait.ts";
import { listenLoopback } from "../harness/net.ts";

const LONG_LINE_CHARS = 20_000; // past json-file's 16 KiB message size: arrives as two messages
// Docker copies stdout and stderr in two goroutines: lines written to both
// within a moment may be logged in either order, hence the short sleeps.
const WEB_SCRIPT = (replica: number): string =>
  [
    `echo "web-${replica} listening on :3000"`,
    "sleep 0.3",
    `echo "ERROR upstream gitea:3000 connection refused (replica ${replica})" >&2`,
    "sleep 0.3",
    `printf '\\033[32mGET /healthz 200\\033[0m\\n'`,
    `head -c ${LONG_LINE_CHARS} /dev/zero | tr '\\0' x; echo`,
    "sleep 1.2",
    `echo "phase two on web-${replica}"`,
    "exec sleep 3600",
  ].join("; ");
const CRASH_SCRIPT = 'echo "booting"; echo "FATAL: cannot open /data/app.db: permission denied" >&2; exit 3';
const TTY_SCRIPT = 'echo "tty line one"; echo "tty line two"; exec sleep 3600';
const MEMORY_LIMIT = 64 * 1024 * 1024;

let engine: DockerEngine;
let proxy: SocketProxy;
let backend: LogBackend;
let web1Id: string;

const signal = (): AbortSignal => AbortSignal.timeout(30_000);

function tail(target: string, overrides: Partial<TailLogsRequest> = {}): TailLogsRequest {
  return { target, lines: 100, limitBytes: 1024 * 1024, signal: signal(), ...overrides };
}

beforeAll(async () => {
  engine = await startDockerEngine();
  proxy = await startSocketProxy(engine.socketPath);
  const labels = (replica: number) => ({
    "com.docker.compose.project": "homelab",
    "com.docker.compose.service": "web",
    "shardgate.test/replica": String(replica),
  });
  web1Id = await engine.run({
    name: "web-1",
    script: WEB_SCRIPT(1),
    labels: labels(1),
    memoryBytes: MEMORY_LIMIT,
  });
  await engine.run({ name: "web-2", script: WEB_SCRIPT(2), labels: labels(2) });
  await engine.run({
    name: "crasher",
    script: CRASH_SCRIPT,
    restartPolicy: { Name: "on-failure", MaximumRetryCount: 2 },
  });
  await engine.run({ name: "tty-app", script: TTY_SCRIPT, tty: true });
  backend = createDockerBackend({
    dockerHost: proxy.dockerHost,
    allowRawSocket: false,
    dockerTimeoutSeconds: 30,
  });
  // Both replicas have logged their second phase, and Docker gave up on the crasher.
  await eventually(async () => {
    const res = await engine.api("GET", "/containers/crasher/json");
    const state = JSON.parse(res.body) as { RestartCount: number; State: { Status: string } };
    return state.RestartCount === 2 && state.State.Status === "exited";
  }, "the crasher to be restarted twice and stay exited");
  await eventually(async () => {
    const logs = await backend.tailLogs(tail("service/web"));
    return logs.logs.every((l) => l.lines.some((line) => line.text.startsWith("phase two")));
  }, "both web replicas to log phase two");
}, 90_000);

afterAll(async () => {
  await backend?.close();
  await proxy?.stop();
  await engine?.stop();
});

describe("tail_logs through the proxy", () => {
  it("decodes the multiplexed stream: stdout and stderr lines in order, ISO timestamps, a 20 000-char line whole", async () => {
    const { logs } = await backend.tailLogs(tail("web-1"));
    expect(logs).toHaveLength(1);
    const lines = logs[0]?.lines ?? [];
    expect(logs[0]?.source).toEqual({ container: "web-1" });
    expect(logs[0]?.cut).toBeUndefined();
    expect(lines.map((l) => [l.stream, l.text.slice(0, 40)])).toEqual([
      ["stdout", "web-1 listening on :3000"],
      ["stderr", "ERROR upstream gitea:3000 connection ref"],
      ["stdout", "\u001b[32mGET /healthz 200\u001b[0m"],
      ["stdout", "x".repeat(40)],
      ["stdout", "phase two on web-1"],
    ]);
    expect(lines[3]?.text).toBe("x".repeat(LONG_LINE_CHARS));
    for (const line of lines) {
      expect(line.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Math.abs(Date.parse(line.timestamp ?? "") - Date.now())).toBeLessThan(5 * 60_000);
    }
  });

  it("honours lines (Docker's tail) and since", async () => {
    const last2 = (await backend.tailLogs(tail("web-1", { lines: 2 }))).logs[0]?.lines ?? [];
    expect(last2.map((l) => l.text.slice(0, 20))).toEqual(["x".repeat(20), "phase two on web-1"]);
    const phaseTwo = last2[1]?.timestamp ?? "";
    const since = (await backend.tailLogs(tail("web-1", { since: phaseTwo }))).logs[0]?.lines ?? [];
    expect(since.map((l) => l.text)).toEqual(["phase two on web-1"]);
  });

  it("keeps only the newest limitBytes of text and says it cut", async () => {
    const { logs } = await backend.tailLogs(tail("web-1", { limitBytes: 100 }));
    expect(logs[0]?.cut).toBe(true);
    const texts = logs[0]?.lines.map((l) => l.text) ?? [];
    expect(texts.at(-1)).toBe("phase two on web-1");
    expect(texts.reduce((bytes, text) => bytes + Buffer.byteLength(text) + 1, 0)).toBeLessThanOrEqual(100);
    // The 20 000-char line was cut to fit; the older lines were dropped.
    expect(texts).toEqual([expect.stringMatching(/^x{1,99}$/), "phase two on web-1"]);
  });

  it("reads a TTY container's raw stream", async () => {
    const { logs } = await backend.tailLogs(tail("tty-app"));
    expect(logs[0]?.lines.map((l) => l.text)).toEqual(["tty line one", "tty line two"]);
    expect(logs[0]?.lines[0]?.timestamp).toBeDefined();
  });

  it("resolves a compose service and a label selector to their containers", async () => {
    const service = await backend.tailLogs(tail("service/web", { lines: 1 }));
    expect(service.logs.map((l) => l.source.container)).toEqual(["web-1", "web-2"]);
    const project = await backend.tailLogs(tail("service/homelab/web", { lines: 1 }));
    expect(project.logs).toHaveLength(2);
    // A bare name that is no container's but a compose service's (Traefik knows services).
    const bare = await backend.tailLogs(tail("web", { lines: 1 }));
    expect(bare.logs.map((l) => l.source.container)).toEqual(["web-1", "web-2"]);
    expect(bare.notes).toEqual([
      'no container is named "web": read compose service web instead (web-1, web-2)',
    ]);
    const labelled = await backend.tailLogs(tail("shardgate.test/replica=2", { lines: 1 }));
    expect(labelled.logs.map((l) => [l.source.container, l.lines[0]?.text])).toEqual([
      ["web-2", "phase two on web-2"],
    ]);
  });

  it("reads the crashed container's log, every run of it, and notes that for previous", async () => {
    const result = await backend.tailLogs(tail("crasher", { previous: true }));
    const fatal = result.logs[0]?.lines.filter((l) => l.text.startsWith("FATAL")) ?? [];
    expect(fatal).toHaveLength(3);
    expect(fatal[0]?.stream).toBe("stderr");
    expect(result.notes?.join(" ")).toContain("across its restarts");
  });

  it("says what exists when a target does not, and refuses a namespace", async () => {
    const missing = backend.tailLogs(tail("gitea"));
    await expect(missing).rejects.toBeInstanceOf(WatchmanNotFound);
    await expect(missing).rejects.toThrow(/no container "gitea".*containers there: .*web-1/);
    await expect(backend.tailLogs(tail("service/nope"))).rejects.toBeInstanceOf(WatchmanNotFound);
    await expect(backend.tailLogs(tail("web-1", { namespace: "apps" }))).rejects.toThrow(WatchmanRefusal);
    await expect(backend.tailLogs(tail("bad target!"))).rejects.toThrow(/invalid target/);
    const withContainer = await backend.tailLogs(tail("web-1", { container: "app", lines: 1 }));
    expect(withContainer.notes).toEqual([
      'container "app" was ignored: on Docker the target names the containers',
    ]);
  });
});

describe("search_logs through the proxy", () => {
  const search = (overrides: Partial<Parameters<LogBackend["searchLogs"]>[0]> = {}) =>
    backend.searchLogs({
      since: new Date(Date.now() - 10 * 60_000).toISOString(),
      matches: (text) => /ERROR|FATAL/.test(text),
      limit: 50,
      maxSources: 10,
      limitBytes: 1024 * 1024,
      signal: signal(),
      ...overrides,
    });

  it("finds matches across a service's containers, with container, stream and timestamp", async () => {
    const result = await search({ target: "service/web" });
    expect(result.matches.map((m) => [m.source.container, m.stream, m.text])).toEqual([
      ["web-1", "stderr", "ERROR upstream gitea:3000 connection refused (replica 1)"],
      ["web-2", "stderr", "ERROR upstream gitea:3000 connection refused (replica 2)"],
    ]);
    expect(result.matches.every((m) => m.timestamp !== undefined)).toBe(true);
    expect(result.searched.map((s) => s.source.container)).toEqual(["web-1", "web-2"]);
    expect(result.limited).toBe(false);
  });

  it("searches every container by default, running ones first, and bounds sources, matches and bytes", async () => {
    const all = await search();
    expect(all.searched.map((s) => s.source.container)).toEqual(["tty-app", "web-1", "web-2", "crasher"]);
    expect(all.matches.filter((m) => m.text.startsWith("FATAL"))).toHaveLength(3);

    const firstTwo = await search({ maxSources: 2 });
    expect(firstTwo.skipped.map((s) => s.container)).toEqual(["web-2", "crasher"]);
    const limited = await search({ limit: 1 });
    expect(limited.limited).toBe(true);
    expect(limited.matches).toHaveLength(1);
    const small = await search({ target: "web-1", limitBytes: 64 });
    expect(small.searched).toEqual([{ source: { container: "web-1" }, cut: true }]);
  });

  it("honours the time window", async () => {
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await search({ since: future })).matches).toEqual([]);
    const before = (await search({ until: "2020-01-01T00:00:00Z", since: "2019-01-01T00:00:00Z" })).matches;
    expect(before).toEqual([]);
  });
});

describe("get_container_stats through the proxy", () => {
  it("reports CPU, memory and its limit for a running container", async () => {
    const { containers, usageSource } = await backend.containerStats({ target: "web-1", signal: signal() });
    expect(usageSource).toBe("docker");
    const web = containers[0];
    expect(web).toMatchObject({ source: { container: "web-1" }, state: "running", restarts: 0 });
    expect(web?.memoryLimitBytes).toBe(MEMORY_LIMIT);
    expect(web?.memoryBytes).toBeGreaterThan(0);
    expect(web?.memoryBytes).toBeLessThan(MEMORY_LIMIT);
    expect(web?.cpuCores).toBeGreaterThanOrEqual(0);
    expect(web?.lastTermination).toBeUndefined();
  });

  it("reports restarts and the last exit of a crashed container", async () => {
    const { containers } = await backend.containerStats({ target: "crasher", signal: signal() });
    expect(containers[0]).toMatchObject({
      source: { container: "crasher" },
      state: "exited (code 3)",
      restarts: 2,
      lastTermination: { reason: "Error", exitCode: 3 },
    });
    expect(containers[0]?.cpuCores).toBeUndefined();
  });

  it("measures a busy container's CPU as a rate", async () => {
    await engine.run({ name: "burner", script: "while :; do :; done" });
    try {
      const { containers } = await backend.containerStats({ target: "burner", signal: signal() });
      expect(containers[0]?.cpuCores).toBeGreaterThan(0.05);
    } finally {
      await engine.api("POST", "/containers/burner/kill");
    }
  });
});

/** A raw request through the proxy, as any client of it could send. */
function proxyRequest(method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxy.url}${path}`, { method }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the GET-only socket proxy", () => {
  it("refuses writes and reads outside the shard's list, and the container stays untouched", async () => {
    expect(await proxyRequest("POST", `/v1.41/containers/${web1Id}/stop`)).toBe(405);
    expect(await proxyRequest("DELETE", `/containers/${web1Id}?force=1`)).toBe(405);
    expect(await proxyRequest("POST", "/containers/create")).toBe(405);
    expect(await proxyRequest("GET", `/containers/${web1Id}/export`)).toBe(403);
    expect(await proxyRequest("GET", "/images/json")).toBe(403);
    expect(await proxyRequest("GET", "/containers/web-1%2F..%2F..%2Fimages%2Fjson")).toBe(403);
    const state = JSON.parse((await engine.api("GET", `/containers/${web1Id}/json`)).body) as {
      State: { Running: boolean };
    };
    expect(state.State.Running).toBe(true);
  });

  it("turns the proxy's refusal into a clear error naming what the shard needs", async () => {
    const api = createDockerApi(parseDockerHost(proxy.dockerHost, false), { timeoutMs: 10_000 });
    try {
      const refused = api.getJson("/images/json", {}, signal());
      await expect(refused).rejects.toBeInstanceOf(WatchmanRefusal);
      await expect(refused).rejects.toThrow(
        /socket proxy at tcp:\/\/127\.0\.0\.1:\d+ refused GET \/v1\.41\/images\/json \(HTTP 403.*This shard only reads GET \/_ping/,
      );
    } finally {
      api.close();
    }
  });

  it("checks the engine through it", async () => {
    expect(await backend.check(signal())).toMatch(
      /^Docker Engine 20\.10\.\S+ \(API 1\.41\) at tcp:\/\/127\.0\.0\.1:\d+$/,
    );
  });
});

describe("the raw socket", () => {
  it("is refused unless explicitly allowed", async () => {
    const config = {
      dockerHost: `unix://${engine.socketPath}`,
      allowRawSocket: false,
      dockerTimeoutSeconds: 10,
    };
    expect(() => createDockerBackend(config)).toThrow(DockerHostError);
    expect(() => createDockerBackend(config)).toThrow(
      /refusing to read Docker through the raw socket unix:\/\//,
    );
    expect(() =>
      createDockerBackend({ ...config, dockerHost: undefined }, { DOCKER_HOST: engine.socketPath }),
    ).toThrow(/--allow-raw-socket/);
    const allowed = createDockerBackend({ ...config, allowRawSocket: true });
    try {
      expect(await allowed.check(signal())).toContain(`unix://${engine.socketPath}`);
    } finally {
      await allowed.close();
    }
  });

  it("is refused behind a tcp:// port that is the engine itself (it accepts more than GET)", async () => {
    // What `dockerd -H tcp://0.0.0.0:2375` exposes: the engine's API, every method, on a TCP port.
    const rawPort: Server = createServer((socket) => socket.pipe(connect(engine.socketPath)).pipe(socket));
    const port = await listenLoopback(rawPort);
    const config = { dockerHost: `tcp://127.0.0.1:${port}`, allowRawSocket: false, dockerTimeoutSeconds: 10 };
    const raw = createDockerBackend(config);
    const allowed = createDockerBackend({ ...config, allowRawSocket: true });
    try {
      await expect(raw.tailLogs(tail("web-1"))).rejects.toBeInstanceOf(WatchmanRefusal);
      await expect(raw.check(signal())).rejects.toThrow(
        /accepts requests other than GET \(it answered OPTIONS\).*GET-only socket proxy.*--allow-raw-socket/,
      );
      expect((await allowed.tailLogs(tail("web-1", { lines: 1 }))).logs[0]?.lines[0]?.text).toBe(
        "phase two on web-1",
      );
    } finally {
      await raw.close();
      await allowed.close();
      rawPort.close();
    }
  });

  it("fails clearly when nothing answers", async () => {
    const down = createDockerBackend({
      dockerHost: "tcp://127.0.0.1:1",
      allowRawSocket: false,
      dockerTimeoutSeconds: 5,
    });
    await expect(down.check(signal())).rejects.toThrow(
      /cannot reach the Docker API at tcp:\/\/127\.0\.0\.1:1/,
    );
    await down.close();
  });
});
