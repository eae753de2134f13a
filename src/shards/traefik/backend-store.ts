/**
 * The managed backend Service (and EndpointSlice) of an IngressRoute route,
 * named like the route. Only objects labelled
 * `app.kubernetes.io/managed-by: shardgate` are ever replaced or deleted; a
 * user's Service of the same name is refused. Uses get, create, update and
 * delete only, the verbs the shard already needs for IngressRoutes.
 */
import { isNotFound, RESOURCES, type KubeObject, type ResourceType } from "../../kube/index.ts";
import type { BackendObjects, EndpointSliceObject, ServiceObject } from "./backend-service.ts";
import { ownedBy } from "./backend-service.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, objectName } from "./naming.ts";
import { isManaged, NamespacedStore } from "./namespaced-store.ts";
import { Refusal } from "./refusal.ts";

export class BackendServiceOwnershipError extends Refusal {
  override name = "BackendServiceOwnershipError";
}

const ENDPOINT_SLICE: ResourceType = {
  group: "discovery.k8s.io",
  version: "v1",
  kind: "EndpointSlice",
  plural: "endpointslices",
  namespaced: true,
};

type Stored = KubeObject;

export class BackendServiceStore extends NamespacedStore {
  async #read(route: string): Promise<{ service?: Stored; slice?: Stored }> {
    const name = objectName(route);
    const [service, slice] = await Promise.all([
      this.find(RESOURCES.service, name),
      this.find(ENDPOINT_SLICE, name),
    ]);
    return { service, slice };
  }

  /** Creates `wanted`, or replaces `existing` at its resourceVersion (fails instead of clobbering a concurrent change). */
  async #write(type: ResourceType, wanted: Stored, existing: Stored | undefined): Promise<void> {
    if (!existing) {
      await this.client.create(type, wanted);
      return;
    }
    const metadata = { ...wanted.metadata, resourceVersion: existing.metadata?.resourceVersion };
    await this.client.replace(type, { ...wanted, metadata });
  }

  async #delete(type: ResourceType, name: string): Promise<void> {
    try {
      await this.client.delete(type, this.namespace, name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Throws when a Service or EndpointSlice named like the route exists and is not ours. */
  async checkOwnership(route: string): Promise<void> {
    const { service, slice } = await this.#read(route);
    const name = `${this.namespace}/${objectName(route)}`;
    if (service && !isManaged(service))
      throw new BackendServiceOwnershipError(
        `Service ${name} exists but is not managed by shardgate (no ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE} label); route to it with kubernetes_service instead, or pick another route name`,
      );
    if (slice && !isManaged(slice))
      throw new BackendServiceOwnershipError(
        `EndpointSlice ${name} exists but is not managed by shardgate; pick another route name`,
      );
  }

  /** Creates or replaces the route's Service (and slice), owned by the IngressRoute; drops a slice no longer needed. */
  async apply(route: string, objects: BackendObjects, owner: { name: string; uid: string }): Promise<void> {
    await this.checkOwnership(route);
    const { service, slice } = await this.#read(route);
    const namespace = this.namespace;
    const name = objectName(route);
    const wantedService: ServiceObject = ownedBy(objects.service, owner);
    try {
      await this.#write(RESOURCES.service, wantedService as unknown as Stored, service);
    } catch (error) {
      throw new Error(`writing Service ${namespace}/${name} failed`, { cause: error });
    }
    try {
      if (objects.endpointSlice) {
        const wantedSlice: EndpointSliceObject = ownedBy(objects.endpointSlice, owner);
        await this.#write(ENDPOINT_SLICE, wantedSlice as unknown as Stored, slice);
      } else if (slice) {
        await this.#delete(ENDPOINT_SLICE, name);
      }
    } catch (error) {
      throw new Error(`writing EndpointSlice ${namespace}/${name} failed`, { cause: error });
    }
  }

  /**
   * Deletes the route's managed Service and slice now (a replaced route that
   * no longer needs them); with the IngressRoute gone the garbage collector
   * would get there too.
   * @returns whether anything was deleted
   */
  async remove(route: string): Promise<boolean> {
    const { service, slice } = await this.#read(route);
    const name = objectName(route);
    let removed = false;
    if (isManaged(slice)) {
      await this.#delete(ENDPOINT_SLICE, name);
      removed = true;
    }
    if (isManaged(service)) {
      await this.#delete(RESOURCES.service, name);
      removed = true;
    }
    return removed;
  }
}
