/**
 * The pod fields Watchman reads, and the pure mapping from a target
 * ("deployment/gitea", "app=gitea", "ip/10.244.0.7"...) to pods. Workloads
 * are resolved through the pods' owner references alone, so the shard needs
 * no rights on Deployments or ReplicaSets: a Deployment's pods belong to a
 * ReplicaSet named `<deployment>-<pod-template-hash>`.
 */
import type { KubeObject, ObjectMeta } from "../../../kube/index.ts";

interface ContainerState {
  readonly running?: { readonly startedAt?: string };
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  readonly terminated?: {
    readonly reason?: string;
    readonly exitCode?: number;
    readonly finishedAt?: string;
    readonly message?: string;
  };
}

export interface ContainerStatus {
  readonly name: string;
  readonly restartCount?: number;
  readonly state?: ContainerState;
  readonly lastState?: ContainerState;
}

/** A pod as the apiserver returns it: metadata and its name are always there. */
export interface Pod extends KubeObject {
  readonly metadata: ObjectMeta & { readonly name: string };
  readonly spec?: {
    readonly nodeName?: string;
    readonly containers: readonly {
      readonly name: string;
      readonly resources?: { readonly limits?: Readonly<Record<string, string>> };
    }[];
    readonly initContainers?: readonly { readonly name: string }[];
  };
  readonly status?: {
    readonly phase?: string;
    readonly podIP?: string;
    readonly containerStatuses?: readonly ContainerStatus[];
    readonly initContainerStatuses?: readonly ContainerStatus[];
  };
}

export type Target =
  | { readonly kind: "pod"; readonly name: string }
  | {
      readonly kind: "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job";
      readonly name: string;
    }
  | { readonly kind: "selector"; readonly selector: string }
  | { readonly kind: "ip"; readonly ip: string }
  | { readonly kind: "all" };

const WORKLOADS: Record<string, Exclude<Target["kind"], "pod" | "selector" | "ip" | "all">> = {
  deployment: "Deployment",
  deploy: "Deployment",
  statefulset: "StatefulSet",
  sts: "StatefulSet",
  daemonset: "DaemonSet",
  ds: "DaemonSet",
  replicaset: "ReplicaSet",
  rs: "ReplicaSet",
  job: "Job",
};
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const FORMS =
  "pod/NAME, deployment/NAME, statefulset/NAME, daemonset/NAME, replicaset/NAME, job/NAME, ip/POD_IP, a pod name or a label selector (app=gitea)";

/** Parses a target string; throws naming the accepted forms. */
export function parseTarget(target: string | undefined): Target {
  if (target === undefined || target.trim() === "") return { kind: "all" };
  const t = target.trim();
  if (/[=!]|\s(in|notin)\s/.test(t)) return { kind: "selector", selector: t };
  const slash = t.indexOf("/");
  if (slash < 0) {
    if (DNS_NAME.test(t)) return { kind: "pod", name: t };
    throw new Error(`target ${JSON.stringify(target)} is not one of: ${FORMS}`);
  }
  const kind = t.slice(0, slash).toLowerCase();
  const name = t.slice(slash + 1);
  if (kind === "ip" && /^[0-9a-fA-F.:]+$/.test(name)) return { kind: "ip", ip: name };
  if (DNS_NAME.test(name)) {
    if (kind === "pod" || kind === "pods" || kind === "po") return { kind: "pod", name };
    const workload = WORKLOADS[kind.replace(/s$/, "")] ?? WORKLOADS[kind];
    if (workload) return { kind: workload, name };
  }
  throw new Error(`target ${JSON.stringify(target)} is not one of: ${FORMS}`);
}

/** Whether `pod` belongs to the workload (through its controller owner reference). */
function ownedBy(pod: Pod, kind: string, name: string): boolean {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  if (!owner) return false;
  if (kind === "Deployment") {
    const hash = pod.metadata.labels?.["pod-template-hash"];
    return owner.kind === "ReplicaSet" && hash !== undefined && owner.name === `${name}-${hash}`;
  }
  return owner.kind === kind && owner.name === name;
}

/** The pods of a workload or IP target among `pods` (the namespace's, or a selector's), sorted by name. */
export function podsOf(target: Target, pods: readonly Pod[]): Pod[] {
  const picked = pods.filter((pod) => {
    switch (target.kind) {
      case "pod":
        return pod.metadata.name === target.name;
      case "ip":
        return pod.status?.podIP === target.ip;
      case "selector":
      case "all":
        return true;
      default:
        return ownedBy(pod, target.kind, target.name);
    }
  });
  return picked.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** What the target names, for messages: "deployment/gitea", "pods matching app=gitea". */
export function describeTarget(target: Target): string {
  switch (target.kind) {
    case "pod":
      return `pod/${target.name}`;
    case "ip":
      return `the pod with IP ${target.ip}`;
    case "selector":
      return `pods matching ${target.selector}`;
    case "all":
      return "pods";
    default:
      return `${target.kind.toLowerCase()}/${target.name}`;
  }
}

/** The containers of a pod to read: all app containers, or the one asked for (init containers by name too). */
export function containersOf(pod: Pod, only: string | undefined): string[] {
  const app = (pod.spec?.containers ?? []).map((c) => c.name);
  if (only === undefined) return app;
  const init = (pod.spec?.initContainers ?? []).map((c) => c.name);
  return [...app, ...init].includes(only) ? [only] : [];
}

/** "running", "waiting: CrashLoopBackOff", "terminated: Error" */
export function stateOf(status: ContainerStatus | undefined): string {
  const s = status?.state;
  if (s?.running) return "running";
  if (s?.waiting) return `waiting${s.waiting.reason ? `: ${s.waiting.reason}` : ""}`;
  if (s?.terminated) return `terminated${s.terminated.reason ? `: ${s.terminated.reason}` : ""}`;
  return "unknown";
}
