/**
 * The managed backend Service (and EndpointSlice) of an IngressRoute route,
 * named like the route. Only objects labelled
 * `app.kubernetes.io/managed-by: shardgate` are ever replaced or deleted; a
 * user's Service of the same name is refused. Uses get, create, update and
 * delete only, the verbs the shard already needs for IngressRoutes.
 */
import { ApiException, CoreV1Api, DiscoveryV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { BackendObjects, EndpointSliceObject, ServiceObject } from "./backend-service.ts";
import { ownedBy } from "./backend-service.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, objectName } from "./naming.ts";
import { Refusal } from "./refusal.ts";

export class BackendServiceOwnershipError extends Refusal {
  override name = "BackendServiceOwnershipError";
}

interface Stored {
  metadata?: { labels?: Record<string, string>; resourceVersion?: string; ownerReferences?: unknown[] };
}

function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? (error as ApiException<unknown>).code : undefined;
}

async function orUndefined<T>(read: Promise<T>, what: string): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw new Error(`reading ${what} failed`, { cause: error });
  }
}

function isManaged(obj: Stored | undefined): boolean {
  return obj?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

export class BackendServiceStore {
  readonly namespace: string;
  readonly #core: CoreV1Api;
  readonly #discovery: DiscoveryV1Api;

  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.namespace = namespace;
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
  }

  async #read(route: string): Promise<{ service?: Stored; slice?: Stored }> {
    const name = objectName(route);
    const namespace = this.namespace;
    const [service, slice] = await Promise.all([
      orUndefined(this.#core.readNamespacedService({ name, namespace }), `Service ${namespace}/${name}`),
      orUndefined(
        this.#discovery.readNamespacedEndpointSlice({ name, namespace }),
        `EndpointSlice ${namespace}/${name}`,
      ),
    ]);
    return { service: service as Stored | undefined, slice: slice as Stored | undefined };
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
      if (service) {
        // resourceVersion makes the replace fail instead of clobbering a concurrent change.
        const body = {
          ...wantedService,
          metadata: { ...wantedService.metadata, resourceVersion: service.metadata?.resourceVersion },
        };
        await this.#core.replaceNamespacedService({ name, namespace, body });
      } else {
        await this.#core.createNamespacedService({ namespace, body: wantedService });
      }
    } catch (error) {
      throw new Error(`writing Service ${namespace}/${name} failed`, { cause: error });
    }
    try {
      if (objects.endpointSlice) {
        const wantedSlice: EndpointSliceObject = ownedBy(objects.endpointSlice, owner);
        if (slice) {
          const body = {
            ...wantedSlice,
            metadata: { ...wantedSlice.metadata, resourceVersion: slice.metadata?.resourceVersion },
          };
          await this.#discovery.replaceNamespacedEndpointSlice({ name, namespace, body });
        } else {
          await this.#discovery.createNamespacedEndpointSlice({ namespace, body: wantedSlice });
        }
      } else if (slice) {
        await this.#discovery.deleteNamespacedEndpointSlice({ name, namespace });
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
    const namespace = this.namespace;
    const name = objectName(route);
    let removed = false;
    const ignoreGone = (error: unknown) => {
      if (statusOf(error) !== 404) throw error;
    };
    if (isManaged(slice)) {
      await this.#discovery.deleteNamespacedEndpointSlice({ name, namespace }).catch(ignoreGone);
      removed = true;
    }
    if (isManaged(service)) {
      await this.#core.deleteNamespacedService({ name, namespace }).catch(ignoreGone);
      removed = true;
    }
    return removed;
  }
}
