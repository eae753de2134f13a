/**
 * The Watchman Docker backend's pure parts: the multiplexed log stream
 * decoder and line splitter, the CPU and memory math of `docker stats`, the
 * container state, DOCKER_HOST parsing (raw socket refused) and targets.
 * The backend against a real engine and proxy: test/process/watchman-docker.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  DockerStreamError,
  FrameDecoder,
  LineSplitter,
  type Frame,
  type RawLine,
} from "../../src/shards/watchman/docker/frames.ts";
import { DockerHostError, parseDockerHost } from "../../src/shards/watchman/docker/host.ts";
import { dockerTime } from "../../src/shards/watchman/docker/logs.ts";
import {
  containerStats,
  cpuCores,
  lastTermination,
  memoryWorkingSet,
  stateOf,
  type DockerInspectJson,
} from "../../src/shards/watchman/docker/stats.ts";
import { parseDockerTarget } from "../../src/shards/watchman/docker/target.ts";

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Feeds `bytes` to a fresh decoder `size` bytes at a time. */
function decodeInChunks(bytes: Buffer, size: number): Frame[] {
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  for (let i = 0; i < bytes.length; i += size) frames.push(...decoder.push(bytes.subarray(i, i + size)));
  expect(decoder.leftover).toBe(0);
  return frames;
}

const STAMP = "2026-12-01T02:10:23.123456789Z";

describe("FrameDecoder", () => {
  const stream = Buffer.concat([
    frame(1, `${STAMP} hello\n`),
    frame(2, `${STAMP} oops ünïcode\n`),
    frame(1, ""),
    frame(0, "stdin\n"),
  ]);

  it("splits frames by their 8-byte headers, whatever the chunking", () => {
    for (const size of [1, 3, 8, 9, 50, stream.length]) {
      const frames = decodeInChunks(stream, size);
      expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
        ["stdout", `${STAMP} hello\n`],
        ["stderr", `${STAMP} oops ünïcode\n`],
        ["stdout", ""],
        ["stdout", "stdin\n"],
      ]);
    }
  });

  it("keeps an unfinished frame for the next chunk", () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(stream.subarray(0, 12))).toEqual([]);
    expect(decoder.leftover).toBe(12);
  });

  it("turns the daemon's in-stream error (type 3) and a non-frame into errors", () => {
    expect(() => new FrameDecoder().push(frame(3, "log driver failed"))).toThrow(DockerStreamError);
    expect(() => new FrameDecoder().push(frame(3, "log driver failed"))).toThrow(/log driver failed/);
    expect(() => new FrameDecoder().push(Buffer.from("2026-12-01 plain text, no TTY header"))).toThrow(
      /not a Docker log stream/,
    );
  });
});

function split(splitter: LineSplitter, pushes: ["stdout" | "stderr", string][]): RawLine[] {
  const lines = pushes.flatMap(([stream, text]) => splitter.push(stream, Buffer.from(text)));
  return [...lines, ...splitter.flush()];
}

describe("LineSplitter", () => {
  it("splits each stream's lines off their RFC 3339 stamps, as ISO 8601 milliseconds", () => {
    const lines = split(new LineSplitter(true), [
      ["stdout", `${STAMP} one\r\n`],
      ["stderr", "2026-12-01T04:10:23.5+02:00 two\n"],
      ["stdout", "no stamp\n"],
    ]);
    expect(lines).toEqual([
      { stream: "stdout", timestamp: "2026-12-01T02:10:23.123Z", text: "one" },
      { stream: "stderr", timestamp: "2026-12-01T02:10:23.500Z", text: "two" },
      { stream: "stdout", text: "no stamp" },
    ]);
  });

  it("joins a long line's messages (each with its own stamp) into one, per stream", () => {
    const lines = split(new LineSplitter(true), [
      ["stdout", `${STAMP} aaaa`],
      ["stderr", `${STAMP} interleaved\n`],
      ["stdout", "2026-12-01T02:10:23.200000000Z bbbb"],
      ["stdout", "2026-12-01T02:10:23.300000000Z cc\n"],
    ]);
    expect(lines.map((l) => [l.stream, l.timestamp, l.text])).toEqual([
      ["stderr", "2026-12-01T02:10:23.123Z", "interleaved"],
      ["stdout", "2026-12-01T02:10:23.123Z", "aaaabbbbcc"],
    ]);
  });

  it("joins a raw (TTY) stream's chunks as they are, even when a chunk ends inside a stamp", () => {
    const raw = `${STAMP} first\r\n${STAMP} second\r\n`;
    const lines = split(new LineSplitter(false), [
      ["stdout", raw.slice(0, 10)],
      ["stdout", raw.slice(10, 45)],
      ["stdout", raw.slice(45)],
    ]);
    expect(lines.map((l) => [l.timestamp, l.text])).toEqual([
      ["2026-12-01T02:10:23.123Z", "first"],
      ["2026-12-01T02:10:23.123Z", "second"],
    ]);
  });

  it("cuts a line to maxLineBytes and says so; a last line without newline comes from flush", () => {
    const splitter = new LineSplitter(true, 40);
    const lines = split(splitter, [
      ["stdout", `${STAMP} ${"x".repeat(100)}\n`],
      ["stdout", `${STAMP} tail`],
    ]);
    expect(splitter.truncated).toBe(true);
    expect(lines.map((l) => l.text)).toEqual(["x".repeat(40 - STAMP.length - 1), "tail"]);
  });
});

describe("docker stats math", () => {
  // Figures from a real engine's /stats?stream=false (cgroup v1, 2 CPUs).
  const sample = {
    cpu_stats: {
      cpu_usage: { total_usage: 30_475_032, percpu_usage: [11_000_865, 19_474_167] },
      system_cpu_usage: 20_453_210_000_000,
      online_cpus: 2,
    },
    precpu_stats: {
      cpu_usage: { total_usage: 29_300_838 },
      system_cpu_usage: 20_451_180_000_000,
      online_cpus: 2,
    },
    memory_stats: {
      usage: 643_072,
      limit: 24e9,
      stats: { total_inactive_file: 40_960, inactive_file: 4096 },
    },
  };

  it("CPU in cores: container delta over system delta, times online CPUs (docker stats' % / 100)", () => {
    // (30475032 - 29300838) / (20453210000000 - 20451180000000) * 2
    expect(cpuCores(sample)).toBeCloseTo((1_174_194 / 2_030_000_000) * 2, 12);
  });

  it("falls back to the per-CPU list, and gives nothing without a previous sample", () => {
    const noOnline = { ...sample, cpu_stats: { ...sample.cpu_stats, online_cpus: 0 } };
    expect(cpuCores(noOnline)).toBeCloseTo(cpuCores(sample) ?? -1, 12);
    expect(cpuCores({ ...sample, precpu_stats: {} })).toBeUndefined();
    const firstRead = { ...sample, precpu_stats: { cpu_usage: { total_usage: 0 }, system_cpu_usage: 0 } };
    expect(cpuCores(firstRead)).toBeUndefined();
    expect(cpuCores({})).toBeUndefined();
  });

  it("memory without inactive file pages (cgroup v1 total_inactive_file, v2 inactive_file)", () => {
    expect(memoryWorkingSet(sample)).toBe(643_072 - 40_960);
    const v2 = { memory_stats: { usage: 10_000, stats: { inactive_file: 2_500 } } };
    expect(memoryWorkingSet(v2)).toBe(7_500);
    expect(memoryWorkingSet({ memory_stats: { usage: 100, stats: { inactive_file: 500 } } })).toBe(100);
    expect(memoryWorkingSet({ memory_stats: {} })).toBeUndefined();
  });
});

describe("container state", () => {
  const crashed: DockerInspectJson = {
    Id: "abc",
    Name: "/crasher",
    RestartCount: 2,
    HostConfig: { Memory: 0 },
    State: {
      Status: "exited",
      ExitCode: 3,
      Error: "",
      FinishedAt: "2026-12-01T02:13:05.540625290Z",
    },
  };

  it("says how a container ended, in Kubernetes' words", () => {
    expect(stateOf(crashed)).toBe("exited (code 3)");
    expect(lastTermination(crashed)).toEqual({
      reason: "Error",
      exitCode: 3,
      finishedAt: "2026-12-01T02:13:05.540Z",
    });
    const oom = { ...crashed, State: { ...crashed.State, ExitCode: 137, OOMKilled: true } };
    expect(lastTermination(oom)?.reason).toBe("OOMKilled");
    const done = { ...crashed, State: { ...crashed.State, ExitCode: 0 } };
    expect(lastTermination(done)?.reason).toBe("Completed");
    const failedStart = { ...crashed, State: { ...crashed.State, ExitCode: 127, Error: "exec: not found" } };
    expect(lastTermination(failedStart)).toMatchObject({ reason: "Error", message: "exec: not found" });
  });

  it("has no last termination for a container that never finished", () => {
    const running = {
      ...crashed,
      State: { Status: "running", Running: true, FinishedAt: "0001-01-01T00:00:00Z" },
    };
    expect(lastTermination(running)).toBeUndefined();
    expect(stateOf(running)).toBe("running");
    expect(stateOf({ ...running, State: { ...running.State, Health: { Status: "unhealthy" } } })).toBe(
      "running (unhealthy)",
    );
    expect(stateOf({ ...crashed, State: { Status: "restarting", ExitCode: 1 } })).toBe(
      "restarting (last exit 1)",
    );
  });

  it("builds ContainerStats: the name without its slash, a limit only when one is set", () => {
    expect(containerStats(crashed, undefined)).toEqual({
      source: { container: "crasher" },
      state: "exited (code 3)",
      restarts: 2,
      lastTermination: { reason: "Error", exitCode: 3, finishedAt: "2026-12-01T02:13:05.540Z" },
    });
    const limited = { ...crashed, HostConfig: { Memory: 1024 } };
    expect(containerStats(limited, { memory_stats: { usage: 10 } })).toMatchObject({
      memoryBytes: 10,
      memoryLimitBytes: 1024,
    });
  });
});

describe("DOCKER_HOST", () => {
  it("accepts a socket proxy over tcp:// (default port 2375) or http://", () => {
    expect(parseDockerHost("tcp://docker-socket-proxy:2375", false)).toEqual({
      kind: "tcp",
      host: "docker-socket-proxy",
      port: 2375,
      display: "tcp://docker-socket-proxy:2375",
    });
    expect(parseDockerHost("tcp://proxy.home.arpa", false)).toMatchObject({ port: 2375 });
    expect(parseDockerHost("http://[::1]:2376", false)).toMatchObject({ host: "::1", port: 2376 });
  });

  it("refuses a raw socket, naming the flag that allows it and the proxy to use instead", () => {
    for (const raw of ["unix:///var/run/docker.sock", "/var/run/docker.sock"]) {
      expect(() => parseDockerHost(raw, false)).toThrow(DockerHostError);
      expect(() => parseDockerHost(raw, false)).toThrow(/raw socket .*--allow-raw-socket.*/);
      expect(() => parseDockerHost(raw, false)).toThrow(/socket proxy/);
    }
    expect(parseDockerHost("unix:///var/run/docker.sock", true)).toEqual({
      kind: "unix",
      socketPath: "/var/run/docker.sock",
      display: "unix:///var/run/docker.sock",
    });
  });

  it("says what is wrong with anything else", () => {
    expect(() => parseDockerHost(undefined, false)).toThrow(/no Docker host given/);
    expect(() => parseDockerHost("ssh://me@host", false)).toThrow(/ssh:\/\/ is not supported/);
    expect(() => parseDockerHost("npipe:////./pipe/docker_engine", false)).toThrow(/unsupported/);
    expect(() => parseDockerHost("tcp://proxy:2375/v1.41", false)).toThrow(/without a path/);
    expect(() => parseDockerHost("tcp://user:pw@proxy:2375", false)).toThrow(/credentials/);
    expect(() => parseDockerHost("docker-socket-proxy:2375", false)).toThrow(/use tcp:\/\/HOST:PORT/);
  });
});

describe("Docker targets", () => {
  it("names a container, a compose service (optionally of one project) or labels", () => {
    expect(parseDockerTarget("gitea")).toEqual({ kind: "container", name: "gitea" });
    expect(parseDockerTarget("/gitea")).toEqual({ kind: "container", name: "gitea" });
    expect(parseDockerTarget("container/gitea-db.1")).toEqual({ kind: "container", name: "gitea-db.1" });
    expect(parseDockerTarget("service/web")).toMatchObject({ labels: ["com.docker.compose.service=web"] });
    expect(parseDockerTarget("service/homelab/web")).toMatchObject({
      labels: ["com.docker.compose.service=web", "com.docker.compose.project=homelab"],
    });
    expect(parseDockerTarget("app=gitea, tier=web")).toMatchObject({ labels: ["app=gitea", "tier=web"] });
  });

  it("refuses what cannot be a name or a selector", () => {
    for (const bad of ["", "bad name", "service/", "service/a/b/c", "../etc", "a=b=c", "=x", "pod/gitea"]) {
      expect(() => parseDockerTarget(bad), bad).toThrow(/invalid/);
    }
  });
});

describe("dockerTime", () => {
  it("turns ISO 8601 into Docker's Unix seconds with nanoseconds", () => {
    expect(dockerTime("2026-12-01T02:10:23.123Z")).toBe("1796091023.123000000");
    expect(dockerTime("1970-01-01T00:00:05Z")).toBe("5.000000000");
    expect(() => dockerTime("yesterday")).toThrow(/not an ISO 8601 time/);
  });
});
