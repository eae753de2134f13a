/**
 * IngressRoutes (traefik.io/v1alpha1) the shard owns in one namespace. Owned
 * means labelled `app.kubernetes.io/managed-by: shardgate`; anything else with
 * the same name is refused, never updated or deleted.
 */
import { isNotFound, resourcePath, type KubeObject, type ResourceType } from "../../kube/index.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, objectName } from "./naming.ts";
import { isManaged, NamespacedStore } from "./namespaced-store.ts";
import type { IngressRouteObject } from "./route-spec.ts";
import { Refusal } from "./refusal.ts";

const INGRESS_ROUTE: ResourceType = {
  group: "traefik.io",
  version: "v1alpha1",
  kind: "IngressRoute",
  plural: "ingressroutes",
  namespaced: true,
};

export class IngressRouteOwnershipError extends Refusal {
  override name = "IngressRouteOwnershipError";
}

export interface StoredIngressRoute {
  readonly metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
  };
  readonly spec: { routes?: { match?: string }[] } & Record<string, unknown>;
}

export class IngressRouteStore extends NamespacedStore {
  /** The managed IngressRoute of `route`; throws when one exists that is not ours. */
  async read(route: string): Promise<StoredIngressRoute | undefined> {
    const name = objectName(route);
    const existing = await this.find<StoredIngressRoute & KubeObject>(INGRESS_ROUTE, name);
    if (existing && !isManaged(existing)) {
      throw new IngressRouteOwnershipError(
        `IngressRoute ${this.namespace}/${name} exists but is not managed by shardgate (no ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE} label)`,
      );
    }
    return existing;
  }

  async write(
    route: string,
    object: IngressRouteObject,
    options: { replace: boolean },
  ): Promise<{ replaced: boolean; uid: string }> {
    const existing = await this.read(route);
    if (existing) {
      if (!options.replace) {
        throw new IngressRouteOwnershipError(
          `route ${route} already exists (IngressRoute ${this.namespace}/${existing.metadata.name}); pass replace: true to overwrite it`,
        );
      }
      // resourceVersion makes the replace fail instead of clobbering a concurrent change.
      const body = {
        ...object,
        metadata: { ...object.metadata, resourceVersion: existing.metadata.resourceVersion },
      };
      const stored = await this.client.replace<StoredIngressRoute & KubeObject>(INGRESS_ROUTE, body);
      return { replaced: true, uid: stored.metadata.uid ?? "" };
    }
    const stored = await this.client.create<StoredIngressRoute & KubeObject>(
      INGRESS_ROUTE,
      object as unknown as StoredIngressRoute & KubeObject,
    );
    return { replaced: false, uid: stored.metadata.uid ?? "" };
  }

  async remove(route: string): Promise<boolean> {
    const existing = await this.read(route);
    if (!existing) return false;
    try {
      // The resourceVersion precondition: never delete a version we did not check for the label.
      await this.client.request(resourcePath(INGRESS_ROUTE, this.namespace, existing.metadata.name), {
        method: "DELETE",
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          preconditions: { resourceVersion: existing.metadata.resourceVersion },
        },
      });
    } catch (error) {
      if (isNotFound(error)) return false;
      throw new Error(`deleting IngressRoute ${this.namespace}/${existing.metadata.name} failed`, {
        cause: error,
      });
    }
    return true;
  }

  async list(): Promise<StoredIngressRoute[]> {
    const res = await this.client.list<StoredIngressRoute & KubeObject>(INGRESS_ROUTE, {
      namespace: this.namespace,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    });
    return res.items.filter(isManaged);
  }
}
