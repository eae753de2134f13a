/**
 * Watchman's rights on Kubernetes, the one list the chart (through
 * `make manifests`: charts/shardgate/files/watchman-*.yaml) and the cdk8s
 * app build from: read pods and their logs, in each declared namespace
 * (a Role there), and CPU/memory only when the install turns it on.
 */
import { RESOURCES } from "../../../kube/index.ts";

export interface WatchmanRule {
  readonly why: string;
  readonly rule: {
    readonly apiGroups: readonly string[];
    readonly resources: readonly string[];
    readonly verbs: readonly string[];
  };
}

/** Where CPU/memory may come from, as the install enables it. */
export interface WatchmanRbacOptions {
  /** The metrics API (metrics.k8s.io pods): a namespaced read. @default false */
  readonly metricsApi?: boolean;
}

/** The Role in every namespace Watchman reads. */
export function watchmanNamespaceRules(options: WatchmanRbacOptions = {}): WatchmanRule[] {
  return [
    {
      why: "Resolve targets (a pod, a workload's pods by owner, a selector) and read restarts and termination reasons.",
      rule: { apiGroups: [RESOURCES.pod.group], resources: [RESOURCES.pod.plural], verbs: ["get", "list"] },
    },
    {
      why: "tail_logs and search_logs.",
      rule: { apiGroups: [RESOURCES.pod.group], resources: [`${RESOURCES.pod.plural}/log`], verbs: ["get"] },
    },
    ...(options.metricsApi
      ? [
          {
            why: "get_container_stats: CPU and memory from metrics-server.",
            rule: { apiGroups: ["metrics.k8s.io"], resources: ["pods"], verbs: ["get"] },
          },
        ]
      : []),
  ];
}

/**
 * The kubelet summary is read through the node proxy, a cluster-wide right
 * (nodes/proxy cannot be limited to a namespace, and it reaches everything the
 * kubelet serves): a ClusterRole, only when the install asks for it.
 */
export function watchmanNodeRules(): WatchmanRule[] {
  return [
    {
      why: "get_container_stats without metrics-server: the kubelet's /stats/summary through the apiserver's node proxy.",
      rule: { apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] },
    },
  ];
}
