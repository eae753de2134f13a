/**
 * A real Docker Engine (Debian's docker.io, `make test-deps`) for one test
 * file, and a real GET-only socket proxy (HAProxy, the same file users get:
 * examples/watchman-docker/haproxy.cfg) in front of it.
 *
 * Isolation: dockerd runs under `unshare` in namespaces of its own:
 *  - network: it sees only its own loopback; no bridge, no iptables rules, no
 *    port publishing (`--bridge=none --iptables=false`), so the host's network
 *    is untouched; containers run with NetworkMode "none";
 *  - mount: a tmpfs over /run hides the host's /run (a system containerd there
 *    would otherwise be adopted), and every overlay mount dies with the
 *    namespace;
 *  - PID: dockerd is its init, so when it goes, the kernel kills containerd,
 *    the shims and every container with it: nothing outlives stop() or a
 *    crashed test run.
 * Its data root, exec root and API socket live in one temp dir, removed by
 * stop(); containers' cgroups live under a parent named for this engine,
 * removed by stop() too. The socket is a file, so the proxy (in the host's
 * network namespace, on a loopback port) reaches the engine through it.
 *
 * Images come from no registry: `importImage()` packs Debian's static busybox
 * (busybox-static) into a rootfs tarball and `POST /images/create?fromSrc=-`
 * imports it, which is what `docker import` does.
 *
 * Root only (dockerd needs it; CI runs as root).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, copyFile, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./binaries.ts";
import { freePort, httpGet } from "./net.ts";
import { sleep } from "../../src/util/index.ts";
import { spawnManaged, stopAndRemove, type ManagedProcess } from "./process.ts";

const run = promisify(execFile);

/** The image every test container runs: busybox as /bin/sh and friends. */
export const BUSYBOX_IMAGE = "shardgate-test/busybox:static";

const DOCKERD = "/usr/sbin/dockerd";
const HAPROXY = "/usr/sbin/haproxy";
const BUSYBOX = "/bin/busybox";
export const PROXY_CONFIG = join(repoRoot(), "examples/watchman-docker/haproxy.cfg");

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

export interface ContainerSpec {
  readonly name: string;
  /** A busybox `sh -c` script. */
  readonly script: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Docker's restart policy, e.g. { Name: "on-failure", MaximumRetryCount: 2 }. */
  readonly restartPolicy?: { readonly Name: string; readonly MaximumRetryCount?: number };
  /** A memory limit in bytes. */
  readonly memoryBytes?: number;
  /** Run with a TTY (the log stream is then raw, not multiplexed). @default false */
  readonly tty?: boolean;
  /** @default BUSYBOX_IMAGE */
  readonly image?: string;
}

export interface DockerEngine {
  /** The engine's own API socket: for the test's setup only, never for the code under test. */
  readonly socketPath: string;
  /** A request on the raw socket (setup and checks). */
  api(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** Imports a busybox rootfs as `repoTag` (no registry involved). */
  importImage(repoTag: string): Promise<void>;
  /** Creates and starts a container; returns its id. */
  run(spec: ContainerSpec): Promise<string>;
  /** The engine's log so far. */
  logs(): Promise<string>;
  /** Stops the engine (and every container), removes its files. Idempotent. */
  stop(): Promise<void>;
}

export interface SocketProxy {
  /** What DOCKER_HOST is set to: `tcp://127.0.0.1:<port>`. */
  readonly dockerHost: string;
  /** The same as an http:// base URL. */
  readonly url: string;
  stop(): Promise<void>;
}

function requireHostTools(): void {
  if (userInfo().uid !== 0) {
    throw new Error(
      "the Docker harness needs root (dockerd, namespaces): run the Docker tests as root, as CI does",
    );
  }
  for (const [path, pkg] of [
    [DOCKERD, "docker.io"],
    [HAPROXY, "haproxy"],
    [BUSYBOX, "busybox-static"],
  ] as const) {
    if (!existsSync(path)) {
      throw new Error(`${path} not found: run \`make test-deps\` (apt-get install ${pkg})`);
    }
  }
}

/** One HTTP/1.1 request on a unix socket; JSON bodies in, text out. */
function socketRequest(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse> {
  const payload =
    body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  const contentType = Buffer.isBuffer(body) ? "application/x-tar" : "application/json";
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: payload ? { "content-type": contentType, "content-length": payload.length } : {},
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

async function expectOk(response: Promise<ApiResponse>, what: string): Promise<ApiResponse> {
  const res = await response;
  if (res.status >= 300) throw new Error(`${what}: HTTP ${res.status} ${res.body.trim()}`);
  return res;
}

/** A tarball of a root filesystem holding static busybox as /bin/sh (and /bin/busybox). */
async function busyboxRootfs(dir: string): Promise<Buffer> {
  const root = join(dir, "rootfs");
  await mkdir(join(root, "bin"), { recursive: true });
  await mkdir(join(root, "tmp"));
  await copyFile(BUSYBOX, join(root, "bin/busybox"));
  await symlink("busybox", join(root, "bin/sh"));
  const tarball = join(dir, "rootfs.tar");
  await run("tar", ["-C", root, "--owner=0", "--group=0", "-cf", tarball, "."]);
  const data = await readFile(tarball);
  await rm(root, { recursive: true, force: true });
  return data;
}

async function killContainers(socketPath: string): Promise<void> {
  const list = await socketRequest(socketPath, "GET", "/containers/json");
  const running = JSON.parse(list.body) as { Id: string }[];
  await Promise.all(running.map((c) => socketRequest(socketPath, "POST", `/containers/${c.Id}/kill`)));
}

/**
 * Removes this engine's cgroup parent in every hierarchy. A killed
 * container's cgroup empties a moment after its tasks die: a few tries.
 */
async function removeCgroups(parent: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (tryRemoveCgroups(parent)) return;
    await sleep(100);
  }
}

/** True when no cgroup dir of `parent` is left. */
function tryRemoveCgroups(parent: string): boolean {
  let clean = true;
  const roots = existsSync("/sys/fs/cgroup/cgroup.controllers")
    ? ["/sys/fs/cgroup"]
    : readdirSync("/sys/fs/cgroup").map((c) => join("/sys/fs/cgroup", c));
  for (const root of roots) {
    const dir = join(root, parent);
    if (!existsSync(dir)) continue;
    try {
      for (const child of readdirSync(dir, { withFileTypes: true })) {
        if (child.isDirectory()) rmdirSync(join(dir, child.name));
      }
      rmdirSync(dir);
    } catch {
      clean = false; // still draining its last task (EBUSY)
    }
  }
  return clean;
}

async function waitForEngine(proc: ManagedProcess, socketPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit) throw new Error(`dockerd exited during startup (code ${proc.exit.code})`);
    try {
      if ((await socketRequest(socketPath, "GET", "/_ping")).status === 200) return;
    } catch {
      // Socket not there yet.
    }
    if (Date.now() > deadline) throw new Error(`dockerd did not answer /_ping within ${timeoutMs / 1000}s`);
    await sleep(100);
  }
}

/** Starts dockerd in namespaces of its own, with the busybox image imported. */
export async function startDockerEngine(): Promise<DockerEngine> {
  requireHostTools();
  // Short: containerd's sockets live under the exec root, and unix socket paths stop at 108 bytes.
  const dir = await mkdtemp(join(tmpdir(), "sgdock-"));
  const socketPath = join(dir, "docker.sock");
  const cgroupParent = `shardgate-${dir.slice(-6)}`;
  await writeFile(join(dir, "daemon.json"), "{}\n");
  const script = ["set -e", "mount -t tmpfs tmpfs /run", "ip link set lo up", 'exec "$0" "$@"'].join("\n");
  const dockerdArgs = [
    `--data-root=${dir}/data`,
    `--exec-root=${dir}/exec`,
    `--pidfile=${dir}/exec/dockerd.pid`,
    `--host=unix://${socketPath}`,
    `--config-file=${dir}/daemon.json`,
    "--bridge=none",
    "--iptables=false",
    "--ip6tables=false",
    "--ip-masq=false",
    "--userland-proxy=false",
    "--storage-driver=overlay2",
    "--exec-opt=native.cgroupdriver=cgroupfs",
    `--cgroup-parent=/${cgroupParent}`,
    "--shutdown-timeout=1",
    "--log-level=warn",
  ];
  const proc = spawnManaged(
    "dockerd",
    "unshare",
    [
      "--pid",
      "--fork",
      "--kill-child",
      "--net",
      "--mount",
      "--mount-proc",
      "--",
      "sh",
      "-c",
      script,
      DOCKERD,
      ...dockerdArgs,
    ],
    { logPath: join(dir, "dockerd.log"), cwd: dir, cleanupDir: dir },
  );

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // Containers first (busybox sh as PID 1 ignores SIGTERM, and dockerd
      // would wait out its shutdown timeout for each); then dockerd, the
      // namespace's init, whose exit takes anything left with it.
      await killContainers(socketPath).catch(() => undefined);
      await proc.stop(3_000);
      await removeCgroups(cgroupParent);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const api = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    socketRequest(socketPath, method, path, body);

  try {
    await waitForEngine(proc, socketPath, 60_000);
  } catch (error) {
    const tail = proc.logTail(30);
    await stop();
    throw new Error(`${(error as Error).message}; last log lines:\n${tail}`, { cause: error });
  }

  const engine: DockerEngine = {
    socketPath,
    api,
    async importImage(repoTag) {
      const [repo, tag] = repoTag.split(":");
      const query = `fromSrc=-&repo=${encodeURIComponent(repo ?? "")}&tag=${encodeURIComponent(tag ?? "latest")}`;
      await expectOk(api("POST", `/images/create?${query}`, await busyboxRootfs(dir)), `import ${repoTag}`);
    },
    async run(spec) {
      const created = await expectOk(
        api("POST", `/containers/create?name=${encodeURIComponent(spec.name)}`, {
          Image: spec.image ?? BUSYBOX_IMAGE,
          Cmd: ["/bin/sh", "-c", spec.script],
          Labels: spec.labels ?? {},
          Tty: spec.tty ?? false,
          HostConfig: {
            NetworkMode: "none",
            RestartPolicy: spec.restartPolicy ?? { Name: "no" },
            ...(spec.memoryBytes === undefined ? {} : { Memory: spec.memoryBytes }),
          },
        }),
        `create ${spec.name}`,
      );
      const id = (JSON.parse(created.body) as { Id: string }).Id;
      await expectOk(api("POST", `/containers/${id}/start`), `start ${spec.name}`);
      return id;
    },
    logs: () => readFile(join(dir, "dockerd.log"), "utf8").catch(() => ""),
    stop,
  };
  try {
    await engine.importImage(BUSYBOX_IMAGE);
  } catch (error) {
    await stop();
    throw error;
  }
  return engine;
}

/** HAProxy with examples/watchman-docker/haproxy.cfg on a loopback port, in front of `socketPath`. */
export async function startSocketProxy(socketPath: string): Promise<SocketProxy> {
  requireHostTools();
  const dir = await mkdtemp(join(tmpdir(), "sgproxy-"));
  const port = await freePort();
  const proc = spawnManaged("haproxy", HAPROXY, ["-db", "-f", PROXY_CONFIG], {
    logPath: join(dir, "haproxy.log"),
    cwd: dir,
    cleanupDir: dir,
    env: { ...process.env, DOCKER_SOCKET: socketPath, PROXY_BIND: `127.0.0.1:${port}` },
  });
  const stop = stopAndRemove(proc, dir);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exit || Date.now() > deadline) {
      const tail = proc.logTail(20);
      await stop();
      throw new Error(`haproxy did not come up on ${url}; last log lines:\n${tail}`);
    }
    try {
      if ((await httpGet(`${url}/_ping`)).status === 200) break;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  return { dockerHost: `tcp://127.0.0.1:${port}`, url, stop };
}
