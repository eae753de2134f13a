/**
 * A real Kubernetes control plane for tests, in the manner of
 * controller-runtime's envtest: etcd and kube-apiserver on free loopback
 * ports, plus (unlike envtest) the real kube-controller-manager, so garbage
 * collection, Deployments, ReplicaSets, namespaces and service accounts
 * behave as in a cluster. There is no kubelet: pods are created and
 * scheduled (with the scheduler) but never run.
 *
 * Authentication is by client certificate from a throwaway CA; authorization
 * is RBAC only. The admin is in system:masters; `userKubeconfig()` mints any
 * other identity, for least-privilege tests. Every mutating request is
 * audited (Metadata level) so tests can count writes per user.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binary } from "./binaries.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { freePort, httpGet } from "./net.ts";
import { sleep } from "../../src/util/index.ts";
import { createCa, createServiceAccountKey, issueCert, type Ca } from "./pki.ts";
import { spawnManaged, type ManagedProcess } from "./process.ts";

export interface ControlPlaneOptions {
  /** Run kube-controller-manager (GC, Deployments, namespaces, service accounts...). @default true */
  readonly controllerManager?: boolean;
  /** Run kube-scheduler, so pods get a node assigned (there are no nodes unless a test makes them). @default false */
  readonly scheduler?: boolean;
  /** Working directory for certificates, logs and etcd data. @default a new temporary directory, removed by stop() */
  readonly dir?: string;
  /**
   * Runs once the apiserver is ready, before the controllers start (e.g. to
   * install CRDs). The garbage collector discovers resource types at start and
   * only every 30 s after, so an owner of a CRD kind installed later may be
   * deleted without its dependents being collected for up to half a minute.
   */
  readonly beforeControllers?: (adminKubeconfigPath: string) => Promise<void>;
  /** Serve /debug/pprof on the apiserver (benches profile it). @default false */
  readonly profiling?: boolean;
  /**
   * Service ClusterIP range; must start at 10.0.0.0 (the `kubernetes` Service is 10.0.0.1, in the
   * serving certificate). A /24 holds 253 Services; the operator bench creates more. @default 10.0.0.0/24
   */
  readonly serviceCidr?: `10.0.0.0/${number}`;
  /**
   * Let the apiserver reach kubelets (pods/log, node proxy) through an HTTP
   * CONNECT proxy on a unix socket (its "cluster" egress selector), with a
   * client certificate kubelets accept. The socket (ControlPlane's
   * kubeletEgressSocket) is served later, by whoever starts a node (node.ts).
   * @default false: the apiserver reaches no kubelet
   */
  readonly kubeletEgress?: boolean;
}

/** The parts of an audit.k8s.io/v1 Event the tests look at. */
export interface AuditEvent {
  readonly auditID: string;
  readonly stage: string;
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { readonly username: string; readonly groups?: readonly string[] };
  readonly userAgent?: string;
  readonly objectRef?: {
    readonly resource?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly apiGroup?: string;
    readonly apiVersion?: string;
    readonly subresource?: string;
  };
  readonly responseStatus?: { readonly code?: number };
  readonly requestReceivedTimestamp: string;
  readonly stageTimestamp: string;
}

export interface ControlPlane {
  /** Admin kubeconfig (user "admin" in system:masters, client certificate embedded). */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly dir: string;
  readonly caCertPath: string;
  /** The throwaway CA's key, so test workers can mint client certificates too (see mintUserKubeconfig). */
  readonly caKeyPath: string;
  /** JSON-lines audit log of mutating requests (see readAuditEvents). */
  readonly auditLogPath: string;
  /** Where the apiserver expects its kubelet CONNECT proxy (see ControlPlaneOptions.kubeletEgress). */
  readonly kubeletEgressSocket?: string;
  /** Writes a kubeconfig for `user` (in `groups`) with a fresh client certificate; returns its path. */
  userKubeconfig(user: string, groups?: readonly string[]): Promise<string>;
  /** Audit events of mutating requests (create, update, patch, delete, deletecollection) so far. */
  auditEvents(): Promise<AuditEvent[]>;
  /** Stops kube-apiserver and starts it again on the same port and etcd; resolves once /readyz is ok. */
  restartApiserver(): Promise<void>;
  /** Stops every component and removes the directory (when the harness made it). Idempotent. */
  stop(): Promise<void>;
}

const SERVICE_CIDR = "10.0.0.0/24";
/** First address of SERVICE_CIDR: the in-cluster `kubernetes` Service, so it is in the serving certificate. */
const KUBERNETES_SERVICE_IP = "10.0.0.1";
const MUTATING_VERBS = new Set(["create", "update", "patch", "delete", "deletecollection"]);
const START_TIMEOUT_MS = 90_000;

// One event per request (ResponseComplete), only for writes: reads would
// swamp the file, and tests count writes.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  - level: None
`;

interface Pki {
  readonly ca: Ca;
  readonly serving: { certPath: string; keyPath: string };
  readonly admin: { certPath: string; keyPath: string };
  readonly controllerManager: { certPath: string; keyPath: string };
  readonly scheduler: { certPath: string; keyPath: string };
  readonly serviceAccount: { privatePath: string; publicPath: string };
}

async function createPki(dir: string): Promise<Pki> {
  const ca = await createCa(dir);
  const [serving, admin, controllerManager, scheduler, serviceAccount] = await Promise.all([
    issueCert(ca, dir, {
      name: "apiserver",
      commonName: "kube-apiserver",
      altNames: [
        "IP:127.0.0.1",
        `IP:${KUBERNETES_SERVICE_IP}`,
        "DNS:localhost",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
      ],
    }),
    issueCert(ca, dir, { name: "admin", commonName: "admin", organizations: ["system:masters"] }),
    // The bootstrap RBAC policy binds these exact user names.
    issueCert(ca, dir, { name: "controller-manager", commonName: "system:kube-controller-manager" }),
    issueCert(ca, dir, { name: "scheduler", commonName: "system:kube-scheduler" }),
    createServiceAccountKey(dir),
  ]);
  return { ca, serving, admin, controllerManager, scheduler, serviceAccount };
}

/** The apiserver flags that send its kubelet connections through a CONNECT proxy on a unix socket. */
async function kubeletEgressArgs(dir: string, ca: Ca, socket: string): Promise<string[]> {
  const config = join(dir, "egress-selector.yaml");
  await writeFile(
    config,
    `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
  - name: cluster
    connection:
      proxyProtocol: HTTPConnect
      transport: {uds: {udsName: ${socket}}}
`,
  );
  // system:masters: the kubelet's webhook authorizer asks the apiserver, which allows it everything.
  const client = await issueCert(ca, join(dir, "pki"), {
    name: "apiserver-kubelet-client",
    commonName: "kube-apiserver-kubelet-client",
    organizations: ["system:masters"],
  });
  return [
    `--egress-selector-config-file=${config}`,
    `--kubelet-client-certificate=${client.certPath}`,
    `--kubelet-client-key=${client.keyPath}`,
    // The node's InternalIP is what the proxy can reach (its hostname is the host's).
    "--kubelet-preferred-address-types=InternalIP",
  ];
}

function startupError(component: ManagedProcess, why: string): Error {
  return new Error(`${component.name} ${why}; last lines of ${component.logPath}:\n${component.logTail(40)}`);
}

/** Polls `check` until it returns true; fails early with the log tail when the process dies. */
async function waitUntilReady(
  component: ManagedProcess,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = START_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (component.exit) {
      throw startupError(
        component,
        `exited during startup (code ${component.exit.code}, signal ${component.exit.signal})`,
      );
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(100);
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
  throw startupError(component, `was not ${what} after ${timeoutMs / 1000}s${detail}`);
}

function sanitize(user: string): string {
  return user.replace(/[^A-Za-z0-9_.-]/g, "_");
}

export interface MintOptions {
  readonly server: string;
  readonly caCertPath: string;
  readonly caKeyPath: string;
  /** Where the certificate and kubeconfig files go. */
  readonly dir: string;
}

/**
 * A kubeconfig for `user` in `groups`, with a new client certificate signed by
 * the control plane's CA. Works from any process that can read the CA key.
 */
export async function mintUserKubeconfig(
  opts: MintOptions,
  user: string,
  groups: readonly string[] = [],
): Promise<string> {
  await mkdir(opts.dir, { recursive: true });
  const name = `user-${sanitize(user)}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const ca = { certPath: opts.caCertPath, keyPath: opts.caKeyPath };
  const cert = await issueCert(ca, opts.dir, { name, commonName: user, organizations: groups });
  return writeKubeconfig(join(opts.dir, `${name}.kubeconfig`), {
    server: opts.server,
    caCertPath: opts.caCertPath,
    user,
    clientCertPath: cert.certPath,
    clientKeyPath: cert.keyPath,
  });
}

/** Parses the JSON-lines audit log; only completed mutating requests. */
export async function readAuditEvents(auditLogPath: string): Promise<AuditEvent[]> {
  let text: string;
  try {
    text = await readFile(auditLogPath, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new Error(`could not read the audit log ${auditLogPath}`, { cause });
  }
  const events: AuditEvent[] = [];
  for (const line of text.split("\n")) {
    // The apiserver may be mid-line while we read; a partial last line is skipped.
    if (line.trim() === "") continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      continue;
    }
    if (MUTATING_VERBS.has(event.verb) && event.stage === "ResponseComplete") events.push(event);
  }
  return events;
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const withControllerManager = opts.controllerManager ?? true;
  const withScheduler = opts.scheduler ?? false;
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "shardgate-cp-")));
  const pkiDir = join(dir, "pki");
  const usersDir = join(dir, "users");
  await Promise.all([mkdir(pkiDir, { recursive: true }), mkdir(usersDir, { recursive: true })]);

  // Resolve every binary before starting anything: a missing build fails fast and clearly.
  const etcdBin = binary("etcd");
  const apiserverBin = binary("kube-apiserver");
  const controllerManagerBin = withControllerManager ? binary("kube-controller-manager") : undefined;
  const schedulerBin = withScheduler ? binary("kube-scheduler") : undefined;

  const auditLogPath = join(dir, "audit.log");
  const processes: ManagedProcess[] = [];
  let apiserver: ManagedProcess | undefined;
  let stopped: Promise<void> | undefined;

  const removeDirOnExit = () => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", removeDirOnExit);

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // Controllers first so they do not log a storm of errors at a dead apiserver.
      const order = [...processes].reverse();
      for (const p of order) {
        if (p.name === "etcd" || p.name === "kube-apiserver") continue;
        await p.stop(3_000);
      }
      if (apiserver) await apiserver.stop(5_000);
      for (const p of order) if (p.name === "etcd") await p.stop(5_000);
      process.off("exit", removeDirOnExit);
      if (ownDir) await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    const [etcdPort, etcdPeerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = spawnManaged(
      "etcd",
      etcdBin,
      [
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        // Test data is thrown away: skipping fsync makes every write far cheaper.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ],
      // etcd lives longest, so its watchdog also removes the directory after a crash.
      { logPath: join(dir, "etcd.log"), cleanupDir: ownDir ? dir : undefined },
    );
    processes.push(etcd);

    // Certificates are made while etcd starts.
    const [pki] = await Promise.all([
      createPki(pkiDir),
      writeFile(join(dir, "audit-policy.yaml"), AUDIT_POLICY),
    ]);
    const server = `https://127.0.0.1:${apiPort}`;
    const adminKubeconfig = join(dir, "admin.kubeconfig");
    await Promise.all([
      writeKubeconfig(adminKubeconfig, {
        server,
        caCertPath: pki.ca.certPath,
        user: "admin",
        clientCertPath: pki.admin.certPath,
        clientKeyPath: pki.admin.keyPath,
      }),
      writeKubeconfig(join(dir, "controller-manager.kubeconfig"), {
        server,
        caCertPath: pki.ca.certPath,
        user: "system:kube-controller-manager",
        clientCertPath: pki.controllerManager.certPath,
        clientKeyPath: pki.controllerManager.keyPath,
      }),
      writeKubeconfig(join(dir, "scheduler.kubeconfig"), {
        server,
        caCertPath: pki.ca.certPath,
        user: "system:kube-scheduler",
        clientCertPath: pki.scheduler.certPath,
        clientKeyPath: pki.scheduler.keyPath,
      }),
    ]);

    await waitUntilReady(etcd, "healthy", async () => (await httpGet(`${etcdUrl}/health`)).status === 200);

    const [adminCert, adminKey, caCert] = await Promise.all([
      readFile(pki.admin.certPath),
      readFile(pki.admin.keyPath),
      readFile(pki.ca.certPath),
    ]);
    const adminTls = { ca: caCert, cert: adminCert, key: adminKey };

    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      // Without it the apiserver looks for a default route to pick an address (envtest does the same).
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, "apiserver-certs")}`,
      `--tls-cert-file=${pki.serving.certPath}`,
      `--tls-private-key-file=${pki.serving.keyPath}`,
      `--client-ca-file=${pki.ca.certPath}`,
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${pki.serviceAccount.publicPath}`,
      `--service-account-signing-key-file=${pki.serviceAccount.privatePath}`,
      `--service-cluster-ip-range=${opts.serviceCidr ?? SERVICE_CIDR}`,
      "--authorization-mode=RBAC",
      "--allow-privileged=true",
      `--audit-policy-file=${join(dir, "audit-policy.yaml")}`,
      `--audit-log-path=${auditLogPath}`,
      "--audit-log-format=json",
      // Blocking: an event is on disk before the response goes out, so a test
      // that has its answer can count the write right away.
      "--audit-log-mode=blocking",
      `--profiling=${opts.profiling ?? false}`,
      // The "kubernetes" Service's Endpoints may not hold a loopback address,
      // so the default lease reconciler would fail (and log) every 10 s.
      "--endpoint-reconciler-type=none",
      // The ServiceAccount admission plugin rejects pods until the namespace's
      // "default" ServiceAccount exists, which only the controller-manager
      // creates; without it, behave like envtest and turn the plugin off.
      ...(withControllerManager ? [] : ["--disable-admission-plugins=ServiceAccount"]),
      ...(opts.kubeletEgress ? await kubeletEgressArgs(dir, pki.ca, join(dir, "egress.sock")) : []),
    ];
    const startApiserver = async (): Promise<void> => {
      const p = spawnManaged("kube-apiserver", apiserverBin, apiserverArgs, {
        logPath: join(dir, "kube-apiserver.log"),
      });
      apiserver = p;
      await waitUntilReady(
        p,
        "ready",
        async () => (await httpGet(`${server}/readyz`, adminTls)).status === 200,
      );
    };
    await startApiserver();
    await opts.beforeControllers?.(adminKubeconfig);

    const healthz = (port: number) => async () =>
      // Self-signed serving certificates from --cert-dir; loopback only.
      (await httpGet(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false })).status === 200;

    const waits: Promise<void>[] = [];
    // A component that serves its health on a free loopback port; `waits` gets its readiness.
    const startComponent = async (name: string, bin: string, kubeconfig: string, flags: string[]) => {
      const port = await freePort();
      const child = spawnManaged(
        name,
        bin,
        [
          `--kubeconfig=${join(dir, kubeconfig)}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${port}`,
          ...flags,
        ],
        { logPath: join(dir, `${name}.log`) },
      );
      processes.push(child);
      waits.push(waitUntilReady(child, "healthy", healthz(port)));
    };
    if (controllerManagerBin) {
      await startComponent("kube-controller-manager", controllerManagerBin, "controller-manager.kubeconfig", [
        `--cert-dir=${join(dir, "controller-manager-certs")}`,
        "--leader-elect=false",
        // Every default controller; the cloud ones stay off without a cloud provider.
        "--controllers=*",
        // Each controller acts as its own service account, as in a real cluster.
        "--use-service-account-credentials=true",
        `--root-ca-file=${pki.ca.certPath}`,
        `--service-account-private-key-file=${pki.serviceAccount.privatePath}`,
        `--cluster-signing-cert-file=${pki.ca.certPath}`,
        `--cluster-signing-key-file=${pki.ca.keyPath}`,
        `--service-cluster-ip-range=${opts.serviceCidr ?? SERVICE_CIDR}`,
        // Tests create and delete many objects quickly; client-side throttling would only slow them.
        "--kube-api-qps=200",
        "--kube-api-burst=400",
      ]);
    }
    if (schedulerBin) {
      await startComponent("kube-scheduler", schedulerBin, "scheduler.kubeconfig", ["--leader-elect=false"]);
    }
    await Promise.all(waits);

    return {
      kubeconfigPath: adminKubeconfig,
      server,
      dir,
      caCertPath: pki.ca.certPath,
      caKeyPath: pki.ca.keyPath,
      auditLogPath,
      ...(opts.kubeletEgress ? { kubeletEgressSocket: join(dir, "egress.sock") } : {}),
      userKubeconfig: (user, groups = []) =>
        mintUserKubeconfig(
          { server, caCertPath: pki.ca.certPath, caKeyPath: pki.ca.keyPath, dir: usersDir },
          user,
          groups,
        ),
      auditEvents: () => readAuditEvents(auditLogPath),
      async restartApiserver() {
        if (!apiserver) throw new Error("kube-apiserver is not running");
        // Graceful shutdown waits for open watches (controller-manager, tests'
        // informers) that never end by themselves; after a short grace the
        // restart is a crash-restart, which clients must survive anyway.
        await apiserver.stop(2_000);
        await startApiserver();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
