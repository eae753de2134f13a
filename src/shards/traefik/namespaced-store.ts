/**
 * What the shard's two Kubernetes-backed stores (IngressRoutes, and the
 * backend Services with their EndpointSlices) share: one namespace, the
 * client, a read that names what failed, and the ownership label.
 */
import type { KubeClient, KubeObject, ResourceType } from "../../kube/index.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "./naming.ts";

/** Labelled `app.kubernetes.io/managed-by: shardgate`: the only objects a store replaces or deletes. */
export function isManaged(obj: { metadata?: { labels?: Record<string, string> } } | undefined): boolean {
  return obj?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

export abstract class NamespacedStore {
  readonly namespace: string;
  protected readonly client: KubeClient;

  constructor(client: KubeClient, namespace: string) {
    this.namespace = namespace;
    this.client = client;
  }

  /** The object, or undefined when there is none; a failure names kind, namespace and name. */
  protected async find<T extends KubeObject>(type: ResourceType, name: string): Promise<T | undefined> {
    try {
      return await this.client.find<T>(type, this.namespace, name);
    } catch (error) {
      throw new Error(`reading ${type.kind} ${this.namespace}/${name} failed`, { cause: error });
    }
  }
}
