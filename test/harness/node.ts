/**
 * A real Kubernetes node for end-to-end tests: containerd + runc + the CNI
 * bridge, kubelet, kube-proxy, CoreDNS and (optionally) kube-router's
 * NetworkPolicy controller, joined to a control plane from control-plane.ts.
 *
 * Everything on the node side runs inside ONE private network + mount
 * namespace (hack/node/ns.sh): the host's interfaces, iptables, mounts and
 * sysctls never change. The control plane stays on host loopback; two
 * unix-socket bridges join the worlds (a unix socket is reachable from any
 * network namespace that sees the file):
 *  - node → apiserver: socat in the namespace listens on :6443 and connects to
 *    a unix socket this process serves and forwards to the apiserver, so the
 *    kubelet (127.0.0.1:6443) and pods (the `kubernetes` Service, whose
 *    EndpointSlice names the node's :6443) reach it;
 *  - host → a Service: `forward()` starts socat in the namespace from a unix
 *    socket to a ClusterIP, and serves 127.0.0.1:<port> here for test clients.
 *  - node → a host loopback port: `exposeHostPort()`, the api bridge's way,
 *    for a process in the node (make run's gateway) that dials a server
 *    running on the host's loopback (make run's Traefik shard).
 * The apiserver reaches the kubelet (pods/log, node proxy) when the control
 * plane was started with `kubeletEgress`: its egress selector dials an HTTP
 * CONNECT proxy served here (egressProxy). Tests read container logs for
 * their own failure messages from the node's /var/log/pods, a host directory.
 *
 * Teardown is by PID: stop() stops the daemons and runs `ns.sh down`, which
 * kills whatever is left in the namespace (pods, shims) by cgroup and mount
 * namespace; a detached watchdog does the same if this process dies first.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { binary, repoRoot } from "./binaries.ts";
import type { ControlPlane } from "./control-plane.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { sleep } from "../../src/util/index.ts";
import { issueCert } from "./pki.ts";
import { spawnManaged, type ManagedProcess } from "./process.ts";

const run = promisify(execFile);

export const NODE_NAME = "shardgate-node";
/** Only inside the node's namespace, so every node can use the same one. */
export const NODE_IP = "10.250.0.10";
const POD_CIDR = "10.244.0.0/24";
/** kube-dns; inside the control plane's Service range (control-plane.ts). */
export const CLUSTER_DNS_IP = "10.0.0.10";
const API_PORT_IN_NODE = 6443;
/** Every node needs these images: the pod sandbox and cluster DNS. */
const ALWAYS_IMPORTED = ["pause", "coredns"];
const DEBIAN_PACKAGES = [
  "containerd",
  "runc",
  "containernetworking-plugins",
  "iptables",
  "socat",
  "conntrack",
];

export interface NodeOptions {
  readonly controlPlane: ControlPlane;
  /** Run kube-router's NetworkPolicy controller so policies are enforced. @default true */
  readonly networkPolicy?: boolean;
  /** Progress lines ("node Ready after 12.3 s"). @default no output */
  readonly log?: (line: string) => void;
  /**
   * The images (names from hack/testbin/images.sh --print) to import; pause and
   * coredns always are. Each import costs seconds (the shardgate image ~10 s
   * on a busy machine). @default all of them
   */
  readonly images?: readonly string[];
}

export interface Forward {
  /** http://127.0.0.1:<port> on the host, forwarded to the target inside the node. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface NodeTimings {
  /** From start to the node's Ready condition. */
  readonly readyMs: number;
  /** Of which: importing the images into containerd. */
  readonly imagesMs: number;
  /** From node Ready to CoreDNS Ready. */
  readonly dnsMs: number;
}

export interface NodeHandle {
  /** The node's scratch directory (logs, state, sockets). */
  readonly dir: string;
  /** PID of the process holding its namespaces (nsenter -t PID -n -m). */
  readonly holderPid: number;
}

export interface TestNode extends NodeHandle {
  readonly name: string;
  /** An admin kubeconfig for processes run inside the node (server https://127.0.0.1:6443 there). */
  readonly adminKubeconfig: string;
  /** Runs a long-lived process inside the node's namespaces (stopped with the node). */
  spawn(name: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv): ManagedProcess;
  readonly timings: NodeTimings;
  /** Runs a command inside the node's namespaces (iptables, ctr, curl...). */
  exec(args: readonly string[]): Promise<{ stdout: string; stderr: string }>;
  /** Serves 127.0.0.1:<free port> here, forwarded to host:port as seen from the node (a ClusterIP). */
  forward(host: string, port: number): Promise<Forward>;
  /** The reverse: this host's 127.0.0.1:port becomes 127.0.0.1:port inside the node (stopped with the node). */
  exposeHostPort(port: number): Promise<void>;
  /** The current log of a pod's container, read from the node's /var/log/pods. */
  containerLog(namespace: string, pod: string, container: string): string;
  stop(): Promise<void>;
}

/**
 * Where each cached image tar is (hack/testbin/images.sh --print), of the
 * named images or all; fails naming `make testbin` when one is not built.
 */
export async function imageTars(names: readonly string[] = []): Promise<Record<string, string>> {
  let stdout: string;
  try {
    ({ stdout } = await run(join(repoRoot(), "hack/testbin/images.sh"), ["--print", ...names]));
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr ?? "";
    throw new Error(`node images missing: ${stderr.trim()}`, { cause });
  }
  const tars: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) tars[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return tars;
}

/** Fails, naming the make target, when a Debian package the node needs is missing. */
async function checkPackages(): Promise<void> {
  const missing: string[] = [];
  await Promise.all(
    DEBIAN_PACKAGES.map(async (p) => {
      try {
        await run("dpkg-query", ["-W", "-f=${Status}", p]).then(({ stdout }) => {
          if (!stdout.includes("install ok installed")) missing.push(p);
        });
      } catch {
        missing.push(p);
      }
    }),
  );
  if (missing.length > 0) {
    throw new Error(`Debian packages missing for the test node: ${missing.join(", ")}: run \`make testbin\``);
  }
  if (process.getuid?.() !== 0) throw new Error("the test node needs root (namespaces, mounts, cgroups)");
}

function nsScript(): string {
  return join(repoRoot(), "hack/node/ns.sh");
}

/** A detached shell that tears the namespace down once `pid` (this process) is gone. */
function spawnNodeWatchdog(dir: string): void {
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" down "$3"; rm -rf "$3"';
  const child = spawn("sh", ["-c", script, "shardgate-node-watchdog", String(process.pid), nsScript(), dir], {
    detached: true,
    stdio: "ignore",
  });
  child.unref();
}

function containerdConfig(): string {
  return `version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  # Built locally (hack/testbin/images.sh): no registry is reachable.
  sandbox_image = "registry.k8s.io/pause:3.10"
  enable_selinux = false
  # Our VMs drop CAP_SYS_RESOURCE from every bounding set, so nothing may lower
  # oom_score_adj (runc: "failed to update /proc/self/oom_score_adj: Permission
  # denied" for the sandbox's -998): clamp container scores to containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
`;
}

const CNI_CONFIG = JSON.stringify({
  cniVersion: "0.4.0",
  name: "shardgate-node",
  plugins: [
    {
      type: "bridge",
      bridge: "cni0",
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: {
        type: "host-local",
        ranges: [[{ subnet: POD_CIDR, gateway: "10.244.0.1" }]],
        routes: [{ dst: "0.0.0.0/0" }],
      },
    },
    { type: "portmap", capabilities: { portMappings: true } },
    { type: "loopback" },
  ],
});

function kubeletConfig(dir: string, pki: string, cgroupRoot: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 on our VMs: kubelet 1.36 refuses it unless told otherwise.
failCgroupV1: false
failSwapOn: false
# No CAP_SYS_RESOURCE here (see the containerd config).
oomScoreAdj: 0
cgroupDriver: cgroupfs
cgroupRoot: /${cgroupRoot}
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
address: ${NODE_IP}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${pki}/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: ${pki}/kubelet-serving.crt
tlsPrivateKeyFile: ${pki}/kubelet-serving.key
clusterDomain: cluster.local
clusterDNS: [${CLUSTER_DNS_IP}]
resolvConf: ${dir}/resolv.conf
# The disk is shared with other jobs: never evict pods over its fill level.
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
serializeImagePulls: false
syncFrequency: 10s
fileCheckFrequency: 5s
nodeStatusUpdateFrequency: 5s
`;
}

function kubeProxyConfig(kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: ${kubeconfig}}
hostnameOverride: ${NODE_NAME}
clusterCIDR: 10.244.0.0/16
bindAddress: ${NODE_IP}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the (global) conntrack table sizes alone.
conntrack: {maxPerCore: 0, min: 0}
oomScoreAdj: 0
`;
}

/** Pipes every connection accepted by `server` to a fresh connection from `dial()`. */
function pipeServer(dial: () => Socket): Server {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = dial();
    open.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
    client.on("close", () => open.delete(client).valueOf() && open.delete(upstream));
  });
  // close() waits for open connections: end them (keep-alive clients would hold it forever).
  server.on("close", () => {
    for (const socket of open) socket.destroy();
  });
  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const socket of open) socket.destroy();
    return close(cb);
  };
  return server;
}

/**
 * The apiserver's egress proxy (ControlPlaneOptions.kubeletEgressSocket): an
 * HTTP CONNECT server on a unix socket; each destination host:port gets one
 * socat in the node's namespace (a unix socket in `dir` → TCP), started on
 * first use and stopped with the node.
 */
function egressProxy(
  dir: string,
  daemon: (name: string, command: string, args: readonly string[]) => ManagedProcess,
): Server {
  const relays = new Map<string, Promise<string>>();
  const relayFor = (dest: string): Promise<string> => {
    let relay = relays.get(dest);
    if (!relay) {
      const sock = join(dir, `egress-${relays.size}.sock`);
      const p = daemon(`egress-${dest}`, "socat", [`UNIX-LISTEN:${sock},fork`, `TCP:${dest}`]);
      relay = waitUntil(
        `egress relay to ${dest}`,
        async () => {
          if (p.exit) throw new Error(`socat exited: ${p.logTail(5)}`);
          return existsSync(sock);
        },
        10_000,
      ).then(() => sock);
      relays.set(dest, relay);
    }
    return relay;
  };
  const open = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => client.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > 8192) client.destroy();
        return;
      }
      client.off("data", onData);
      client.pause();
      const dest = /^CONNECT (\S+) HTTP\/1\.[01]\r\n/.exec(head.toString("latin1"))?.[1];
      if (!dest) {
        client.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
        return;
      }
      relayFor(dest).then(
        (sock) => {
          const upstream = connect(sock);
          open.add(upstream);
          upstream.on("close", () => {
            open.delete(upstream);
            client.destroy();
          });
          upstream.on("error", () => upstream.destroy());
          client.on("close", () => upstream.destroy());
          upstream.once("connect", () => {
            client.write("HTTP/1.1 200 Connection established\r\n\r\n");
            const rest = head.subarray(end + 4);
            if (rest.length > 0) upstream.write(rest);
            client.pipe(upstream).pipe(client);
            client.resume();
          });
        },
        () => client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"),
      );
    };
    client.on("data", onData);
  });
  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const socket of open) socket.destroy();
    return close(cb);
  };
  return server;
}

function listen(server: Server, where: string | { port: number; host: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    if (typeof where === "string") server.listen(where, resolve);
    else server.listen(where.port, where.host, resolve);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  const why = last instanceof Error ? `: ${last.message}` : "";
  throw new Error(`test node: ${what} not reached after ${timeoutMs / 1000}s${why}`);
}

export async function startNode(opts: NodeOptions): Promise<TestNode> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const cp = opts.controlPlane;
  const kubectl = adminKubectl(cp);
  await checkPackages();
  const bins = {
    kubelet: binary("kubelet"),
    proxy: binary("kube-proxy"),
    router: opts.networkPolicy === false ? undefined : binary("kube-router"),
  };
  const tars = await imageTars(opts.images ? [...ALWAYS_IMPORTED, ...opts.images] : []);
  // Short: its basename names the kubelet's cgroupRoot.
  const dir = await mkdtemp("/tmp/sgnode-");
  const pki = join(dir, "pki");
  await mkdir(pki);
  spawnNodeWatchdog(dir);

  const processes: ManagedProcess[] = [];
  const servers: Server[] = [];
  let nsUp = false;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Side by side: one by one, each daemon's grace added up to ~40 s (ns.sh down kills what is left).
      await Promise.all(processes.map((p) => p.stop(3_000)));
      await Promise.all(servers.map(closeServer));
      if (nsUp) await run(nsScript(), ["down", dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const { stdout: holderOut } = await run(nsScript(), ["up", dir, NODE_IP, CLUSTER_DNS_IP]);
    nsUp = true;
    const holder = holderOut.trim();
    const enter = ["-t", holder, "-n", "-m", "--"];
    const exec = async (args: readonly string[]) => {
      try {
        return await run("nsenter", [...enter, ...args], { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
      } catch (cause) {
        const stderr = (cause as { stderr?: string }).stderr ?? "";
        throw new Error(`in the test node: ${args.join(" ")} failed: ${stderr.trim()}`, { cause });
      }
    };
    const daemon = (
      name: string,
      command: string,
      args: readonly string[],
      env?: NodeJS.ProcessEnv,
    ): ManagedProcess => {
      const p = spawnManaged(name, "nsenter", [...enter, command, ...args], {
        logPath: join(dir, `${name}.log`),
        ...(env ? { env } : {}),
      });
      processes.push(p);
      return p;
    };

    /** A host loopback port served inside the node: socat there → a unix socket → this process → the port. */
    const bridgeIn = async (name: string, hostPort: number, nodePort: number, bind: string) => {
      const sock = join(dir, `${name}.sock`);
      const server = pipeServer(() => connect(hostPort, "127.0.0.1"));
      servers.push(server);
      await listen(server, sock);
      daemon(name, "socat", [`TCP-LISTEN:${nodePort},bind=${bind},fork,reuseaddr`, `UNIX-CONNECT:${sock}`]);
    };
    // node → apiserver (see the header), on every address: pods reach it through the `kubernetes` Service.
    await bridgeIn("api-bridge", Number(new URL(cp.server).port), API_PORT_IN_NODE, "0.0.0.0");
    // apiserver → kubelet (pods/log, node proxy), when the control plane was told to use it.
    if (cp.kubeletEgressSocket) {
      const egress = egressProxy(dir, daemon);
      servers.push(egress);
      await listen(egress, cp.kubeletEgressSocket);
    }

    const ca = { certPath: cp.caCertPath, keyPath: cp.caKeyPath };
    const [nodeCert, , proxyCert, adminCert] = await Promise.all([
      issueCert(ca, pki, {
        name: "node",
        commonName: `system:node:${NODE_NAME}`,
        organizations: ["system:nodes"],
      }),
      issueCert(ca, pki, {
        name: "kubelet-serving",
        commonName: `system:node:${NODE_NAME}`,
        organizations: ["system:nodes"],
        altNames: [`IP:${NODE_IP}`, `DNS:${NODE_NAME}`],
      }),
      issueCert(ca, pki, { name: "proxy", commonName: "system:kube-proxy" }),
      issueCert(ca, pki, { name: "admin", commonName: "node-admin", organizations: ["system:masters"] }),
    ]);
    await run("cp", [cp.caCertPath, join(pki, "ca.crt")]);
    const inNode = `https://127.0.0.1:${API_PORT_IN_NODE}`;
    const kc = (name: string, user: string, cert: { certPath: string; keyPath: string }) =>
      writeKubeconfig(join(pki, `${name}.kubeconfig`), {
        server: inNode,
        caCertPath: cp.caCertPath,
        user,
        clientCertPath: cert.certPath,
        clientKeyPath: cert.keyPath,
      });
    const [nodeKc, proxyKc, adminKc] = await Promise.all([
      kc("node", `system:node:${NODE_NAME}`, nodeCert),
      kc("proxy", "system:kube-proxy", proxyCert),
      kc("admin", "node-admin", adminCert),
    ]);
    const cgroupRoot = dir.split("/").pop() ?? "sgnode";
    await Promise.all([
      writeFile(join(dir, "containerd.toml"), containerdConfig()),
      writeFile(join(dir, "kubelet.yaml"), kubeletConfig(dir, pki, cgroupRoot)),
      writeFile(join(dir, "kube-proxy.yaml"), kubeProxyConfig(proxyKc)),
      writeFile(join(dir, "state/etc-cni/net.d/10-shardgate-bridge.conflist"), CNI_CONFIG),
      // Pods with dnsPolicy Default (CoreDNS itself) get this: no upstream resolver in here.
      writeFile(join(dir, "resolv.conf"), "nameserver 127.0.0.1\n"),
    ]);

    // Pods reach the apiserver through the `kubernetes` Service: its endpoint is the node's bridge.
    // The control plane authorizes with RBAC alone (no Node authorizer): bind the kubelet's rights.
    await kubectl(["apply", "-f", "-"], kubernetesEndpointSlice());
    await kubectl(["apply", "-f", "-"], NODE_RBAC);

    const containerd = daemon("containerd", "containerd", ["--config", join(dir, "containerd.toml")]);
    await waitUntil(
      "containerd ready",
      async () => {
        if (containerd.exit) throw new Error(`containerd exited: ${containerd.logTail(20)}`);
        await exec(["ctr", "version"]);
        return true;
      },
      60_000,
    );
    const importStart = Date.now();
    const wanted = Object.entries(tars);
    // One after another: side by side took 48-49 s against 26-32 s here (2 busy cores, one disk).
    for (const [, tar] of wanted) await importImage({ dir, holderPid: Number(holder) }, tar);
    const imagesMs = Date.now() - importStart;
    log(
      `[node] ${wanted.length} images (${wanted.map(([n]) => n).join(", ")}) imported in ${(imagesMs / 1000).toFixed(1)} s`,
    );

    const kubeletStart = Date.now();
    daemon("kubelet", bins.kubelet, [
      "--config",
      join(dir, "kubelet.yaml"),
      "--kubeconfig",
      nodeKc,
      "--hostname-override",
      NODE_NAME,
      "--node-ip",
      NODE_IP,
      "--v",
      "2",
    ]);
    daemon("kube-proxy", bins.proxy, ["--config", join(dir, "kube-proxy.yaml"), "--v", "2"]);
    await waitUntil(
      "node Ready",
      async () => {
        const { stdout } = await kubectl([
          "get",
          "node",
          NODE_NAME,
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return stdout.trim() === "True";
      },
      120_000,
    );
    const readyMs = Date.now() - started;
    log(
      `[node] Ready ${(readyMs / 1000).toFixed(1)} s after start (${((Date.now() - kubeletStart) / 1000).toFixed(1)} s after the kubelet)`,
    );
    // kube-router wants the node's pod CIDR; the controller-manager allocates none here.
    await kubectl([
      "patch",
      "node",
      NODE_NAME,
      "-p",
      JSON.stringify({ spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] } }),
    ]);
    if (bins.router) {
      daemon("kube-router", bins.router, [
        "--kubeconfig",
        adminKc,
        "--hostname-override",
        NODE_NAME,
        "--run-firewall=true",
        "--service-cluster-ip-range",
        "10.0.0.0/24",
        "--health-port",
        "20244",
        "--metrics-port",
        "0",
        "-v",
        "1",
      ]);
    }
    const dnsStart = Date.now();
    await kubectl(["apply", "-f", join(repoRoot(), "hack/node/coredns.yaml")]);
    await kubectl(["-n", "kube-system", "rollout", "status", "deploy/coredns", "--timeout=120s"]);
    const dnsMs = Date.now() - dnsStart;
    log(`[node] CoreDNS Ready ${(dnsMs / 1000).toFixed(1)} s after apply`);
    if (bins.router) {
      await waitUntil(
        "kube-router healthy",
        async () => {
          await exec(["curl", "-sf", "http://127.0.0.1:20244/healthz"]);
          return true;
        },
        60_000,
      );
    }

    return {
      name: NODE_NAME,
      dir,
      holderPid: Number(holder),
      adminKubeconfig: adminKc,
      spawn: daemon,
      timings: { readyMs, imagesMs, dnsMs },
      exec,
      forward: (host, port) => forwardIntoNode({ dir, holderPid: Number(holder) }, host, port),
      async exposeHostPort(port) {
        await bridgeIn(`host-${port}`, port, port, "127.0.0.1");
        await waitUntil(
          `host port ${port} inside the node`,
          async () => {
            await exec(["socat", "-u", "OPEN:/dev/null", `TCP:127.0.0.1:${port}`]);
            return true;
          },
          10_000,
        );
      },
      containerLog: (namespace, pod, container) => containerLog(dir, namespace, pod, container),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

const NODE_RBAC = JSON.stringify({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  metadata: { name: "shardgate-test-node" },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:node" },
  subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" }],
});

function kubernetesEndpointSlice(): string {
  return JSON.stringify({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "kubernetes-test-node",
      namespace: "default",
      labels: {
        "kubernetes.io/service-name": "kubernetes",
        "endpointslice.kubernetes.io/managed-by": "shardgate-test-node",
      },
    },
    addressType: "IPv4",
    endpoints: [{ addresses: [NODE_IP], conditions: { ready: true } }],
    ports: [{ name: "https", port: API_PORT_IN_NODE, protocol: "TCP" }],
  });
}

/** kubectl against the control plane as its admin; `input` goes to standard input. */
function adminKubectl(cp: ControlPlane) {
  return (args: readonly string[], input?: string): Promise<{ stdout: string }> =>
    new Promise((resolve, reject) => {
      const child = execFile(
        "kubectl",
        ["--kubeconfig", cp.kubeconfigPath, ...args],
        { maxBuffer: 16 * 1024 * 1024, timeout: 150_000 },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`kubectl ${args.join(" ")}: ${stderr.trim()}`, { cause: error }));
          else resolve({ stdout });
        },
      );
      child.stdin?.end(input ?? "");
    });
}

/**
 * Serves 127.0.0.1:<free port> in this process, forwarded to host:port as seen
 * from inside the node (a ClusterIP, a pod IP): socat in the node's namespace
 * listens on a unix socket, which this process dials per connection. Works
 * from any process (vitest workers too); the relay dies with this process.
 */
export async function forwardIntoNode(node: NodeHandle, host: string, port: number): Promise<Forward> {
  const sock = join(node.dir, `fwd-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`);
  const relay = spawnManaged(
    `forward-${host}-${port}`,
    "nsenter",
    [
      "-t",
      String(node.holderPid),
      "-n",
      "-m",
      "--",
      "socat",
      `UNIX-LISTEN:${sock},fork`,
      `TCP:${host}:${port}`,
    ],
    { logPath: `${sock}.log` },
  );
  await waitUntil(
    "forward socket",
    async () => {
      if (relay.exit) throw new Error(`socat exited: ${relay.logTail(5)}`);
      return existsSync(sock);
    },
    10_000,
  );
  const server = pipeServer(() => connect(sock));
  await listen(server, { port: 0, host: "127.0.0.1" });
  const address = server.address();
  const local = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${local}`,
    port: local,
    async close() {
      await closeServer(server);
      await relay.stop(1_000);
    },
  };
}

/**
 * Imports an image tar into the node's containerd (k8s.io namespace, where
 * the kubelet looks). Minutes are allowed: a 600 MB image took over a minute
 * on two busy cores.
 */
export async function importImage(node: NodeHandle, tar: string): Promise<void> {
  const args = [
    "-t",
    String(node.holderPid),
    "-n",
    "-m",
    "--",
    "ctr",
    "-n",
    "k8s.io",
    "images",
    "import",
    tar,
  ];
  try {
    await run("nsenter", args, { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 });
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr ?? "";
    throw new Error(`importing ${tar} into the test node failed: ${stderr.trim()}`, { cause });
  }
}

/** The current log of a pod's container, read from the node's /var/log/pods (a host directory). */
export function containerLog(dir: string, namespace: string, pod: string, container: string): string {
  const podsDir = join(dir, "state/var-log/pods");
  if (!existsSync(podsDir)) return "(no log)";
  const podDir = readdirSync(podsDir).find((d) => d.startsWith(`${namespace}_${pod}_`));
  if (!podDir) return "(no log)";
  const cdir = join(podsDir, podDir, container);
  const files = existsSync(cdir) ? readdirSync(cdir).sort() : [];
  return files.map((f) => readFileSync(join(cdir, f), "utf8")).join("");
}
