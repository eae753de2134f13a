/**
 * Wires the operator together: informers for shards and their children, the
 * work queue and its workers, leader election, and the health/metrics server.
 * Informers run on every replica (a follower's caches are warm when it takes
 * over); only the leader runs workers, so only the leader writes.
 */
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { McpShard } from "../api/index.ts";
import {
  KubeClient,
  loadKubeConfig,
  objectKey,
  RESOURCES,
  withoutManagedFields,
  type InformerEvent,
  type KubeObject,
} from "../kube/index.ts";
import type { Logger } from "../log.ts";
import { AdaptiveLimit } from "./concurrency-limit.ts";
import type { OperatorConfig } from "./config.ts";
import { InformerSet } from "./informer-set.ts";
import { LeaderElector } from "./leader.ts";
import type { OperatorMetrics } from "./metrics.ts";
import { WorkQueue } from "./queue.ts";

export interface RunningOperator {
  /** http://host:port of /metrics, /healthz, /readyz */
  readonly metricsUrl: string;
  readonly metrics: OperatorMetrics;
  readonly identity: string;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export interface StartOperatorOptions {
  /** Called when leadership is lost (the CLI exits). @default stop the operator */
  readonly onLeadershipLost?: () => void;
}

/** The operator's server-side apply field manager (also its user name in the benches' audit logs). */
export const FIELD_MANAGER = "shardgate-operator";

const POD_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

function podNamespace(): string {
  return existsSync(POD_NAMESPACE_FILE) ? readFileSync(POD_NAMESPACE_FILE, "utf8").trim() : "default";
}

function ownerKey(child: KubeObject): string | undefined {
  const owner = child.metadata?.ownerReferences?.find((r) => r.controller && r.kind === "McpShard");
  return owner && child.metadata?.namespace ? `${child.metadata.namespace}/${owner.name}` : undefined;
}

/**
 * What the operator needs beyond the lease, imported once the campaign has
 * begun: the reconciler (zod schemas of the API, desired state), events,
 * metrics (prom-client). Module loading is CPU time, and on a loaded node
 * two replicas starting at once took 30 s to the first lease request.
 */
function loadWiring() {
  return Promise.all([
    import("./reconcile/index.ts"),
    import("./desired/index.ts"),
    import("./events.ts"),
    import("./metrics.ts"),
    import("./server.ts"),
  ]);
}

/** Leadership callbacks that can fire before the rest of the operator is loaded. */
function deferredLeadership() {
  let state: "none" | "leading" | "lost" = "none";
  let handlers: { started: () => void; lost: () => void } | undefined;
  return {
    started: () => {
      state = "leading";
      handlers?.started();
    },
    lost: () => {
      state = "lost";
      handlers?.lost();
    },
    /** Attaches the real handlers and replays what happened meanwhile. */
    attach(started: () => void, lost: () => void) {
      handlers = { started, lost };
      if (state === "leading") started();
      if (state === "lost") lost();
    },
  };
}

export async function startOperator(
  config: OperatorConfig,
  logger: Logger,
  startOptions: StartOperatorOptions = {},
): Promise<RunningOperator> {
  const client = new KubeClient(loadKubeConfig({ kubeconfig: config.kubeconfig }));
  const identity = `${hostname()}_${process.pid}`;
  const leadership = deferredLeadership();
  // Campaign before loading the rest: the lease is what a replica waits for.
  const elector = config.leaderElect
    ? new LeaderElector({
        client,
        namespace: config.leaseNamespace ?? podNamespace(),
        name: config.leaseName,
        identity,
        leaseDurationMs: config.leaseDuration * 1000,
        renewDeadlineMs: config.renewDeadline * 1000,
        retryPeriodMs: config.retryPeriod * 1000,
        logger,
        onStarted: leadership.started,
        onLost: leadership.lost,
      })
    : undefined;
  elector?.start();
  let wiring: Awaited<ReturnType<typeof loadWiring>>;
  try {
    wiring = await loadWiring();
  } catch (error) {
    await elector?.stop();
    await client.close();
    throw error;
  }
  const [
    { CHILD_TYPES, controllerUid, Reconciler },
    { CHILD_SELECTOR, defaultEgressPolicy },
    { kubeEventRecorder },
    { createMetrics },
    { buildHealthApp },
  ] = wiring;
  const metrics = createMetrics();
  const resyncMs = config.resync * 1000;
  // The caches hold every shard and child for the life of the process: keep no managedFields.
  const shards = new InformerSet<McpShard & KubeObject>(client, RESOURCES.mcpShard, config.namespaces, {
    resyncMs,
    transform: withoutManagedFields,
  });
  const children = new Map(
    CHILD_TYPES.map((type) => [
      type.kind,
      new InformerSet<KubeObject>(client, type, config.namespaces, {
        labelSelector: CHILD_SELECTOR,
        resyncMs,
        transform: withoutManagedFields,
        indexBy: controllerUid,
      }),
    ]),
  );

  const queue = new WorkQueue({ onDepth: (depth) => metrics.queueDepth.set(depth) });
  const events = kubeEventRecorder(client, identity, logger);
  const reconciler = new Reconciler({
    client,
    fieldManager: FIELD_MANAGER,
    shards,
    children,
    events,
    logger,
    onWrite: (kind, verb) => metrics.writes.inc({ kind, verb }),
    enqueue: (key) => queue.add(key),
    options: {
      shardImage: config.shardImage,
      gatewaySelector: config.gatewaySelector,
      clusterDomain: config.clusterDomain,
      defaultEgress: defaultEgressPolicy(config.defaultEgress),
      verifyIntervalMs: config.verifyInterval * 1000,
      verifyTimeoutMs: config.verifyTimeout * 1000,
      // Verifications wait on the network, not on the apiserver: more of them than workers.
      verifyConcurrency: config.workers * 4,
      // Writes wait on the apiserver: child batches and status writes (off the workers) start
      // at as many at once as there are workers and follow its latency up to 4x that
      // (concurrency-limit.ts). Fixed at 2x and 4x they fed a retry storm at load 24; fixed
      // at 1x they bound 1,000 shards once Services were headless.
      applyConcurrency: new AdaptiveLimit({ min: config.workers, max: config.workers * 4 }),
      statusConcurrency: new AdaptiveLimit({ min: config.workers, max: config.workers * 4 }),
    },
  });

  /**
   * `resync`: does a replayed (unchanged) object queue its shard? A shard's
   * own resync does; a child's does not, because the shard's reconcile reads
   * every child from the caches anyway. At 1,000 shards (750 children) that
   * was 1,750 reconciles per resync period instead of 1,000, on a process
   * whose CPU share is what a loaded node leaves it.
   */
  const watchEvents =
    (resource: string, toKey: (o: KubeObject) => string | undefined, resync: boolean) =>
    (event: InformerEvent<KubeObject>) => {
      switch (event.type) {
        case "add":
        case "update":
        case "delete":
        case "resync": {
          const key = event.type !== "resync" || resync ? toKey(event.object) : undefined;
          if (key) queue.add(key);
          break;
        }
        case "restart":
          metrics.watchRestarts.inc({ resource, reason: event.reason });
          break;
        case "resynced":
          metrics.resyncs.inc({ resource });
          break;
        case "error":
          logger.warn({ resource, phase: event.phase, err: event.error }, "watch failed; retrying");
          break;
        case "synced":
          break;
      }
    };
  shards.on(watchEvents("mcpshards", (o) => objectKey(o), true));
  shards.on((event) => {
    if (event.type === "add") logger.debug({ shard: objectKey(event.object) }, "shard seen");
    // Only the leader verifies; a follower's pool stays idle.
    // Status writes are updates too: only a new or changed spec can call for a verification.
    const changed =
      event.type === "add" ||
      (event.type === "update" && event.old.metadata.generation !== event.object.metadata.generation);
    if (changed && leading) reconciler.prefetchVerification(event.object);
  });
  for (const [kind, set] of children) set.on(watchEvents(kind.toLowerCase(), ownerKey, false));

  const workers: Promise<void>[] = [];
  let leading = false;
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const end = metrics.reconcileDuration.startTimer();
      const started = Date.now();
      try {
        const result = await reconciler.reconcile(key);
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
        // Timestamps for per-shard timelines (bench/operator-scale.ts --timeline).
        logger.debug({ shard: key, started, ms: Date.now() - started, ...result }, "reconciled");
        metrics.reconciles.inc({ result: "success" });
      } catch (error) {
        metrics.reconciles.inc({ result: "error" });
        metrics.reconcileErrors.inc();
        logger.warn({ shard: key, err: error }, "reconcile failed; retrying with backoff");
        queue.addRateLimited(key);
      } finally {
        end();
        queue.done(key);
      }
    }
  };

  const startWorkers = () => {
    leading = true;
    metrics.leader.set(1);
    void (async () => {
      await Promise.all([shards.waitForSync(), ...[...children.values()].map((c) => c.waitForSync())]);
      for (const shard of shards.list()) queue.add(objectKey(shard));
      for (let i = 0; i < config.workers; i++) workers.push(worker());
      logger.info({ workers: config.workers }, "reconciling");
    })();
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    queue.shutdown();
    await elector?.stop();
    await Promise.all(workers);
    await reconciler.close();
    await events.close?.();
    await Promise.all([shards.stop(), ...[...children.values()].map((c) => c.stop())]);
    await app.close();
    await client.close();
  };

  const onLost = () => {
    leading = false;
    metrics.leader.set(0);
    queue.shutdown();
    (startOptions.onLeadershipLost ?? (() => void stop()))();
  };

  const app = buildHealthApp({
    registry: metrics.registry,
    ready: () => !leading || (shards.hasSynced && [...children.values()].every((c) => c.hasSynced)),
  });
  let address: string;
  try {
    address = await app.listen({ host: config.metricsHost, port: config.metricsPort });
  } catch (error) {
    // The campaign has begun: give the lease back rather than hold it without working.
    await elector?.stop();
    await reconciler.close();
    await client.close();
    throw error;
  }

  shards.start();
  for (const set of children.values()) set.start();
  if (elector) leadership.attach(startWorkers, onLost);
  else startWorkers();

  logger.info({ identity, metrics: address, namespaces: config.namespaces }, "operator started");
  return {
    metricsUrl: address,
    metrics,
    identity,
    isLeader: () => leading,
    stop,
  };
}
