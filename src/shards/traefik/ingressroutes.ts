/**
 * IngressRoutes (traefik.io/v1alpha1) the shard owns in one namespace. Owned
 * means labelled `app.kubernetes.io/managed-by: shardgate`; anything else with
 * the same name is refused, never updated or deleted.
 */
import { ApiException, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, objectName } from "./naming.ts";
import type { IngressRouteObject } from "./route-spec.ts";
import { Refusal } from "./refusal.ts";

const GROUP = "traefik.io";
const VERSION = "v1alpha1";
const PLURAL = "ingressroutes";

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

function isManaged(obj: StoredIngressRoute): boolean {
  return obj.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? (error as ApiException<unknown>).code : undefined;
}

export class IngressRouteStore {
  readonly namespace: string;
  readonly #api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.namespace = namespace;
    this.#api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async #get(name: string): Promise<StoredIngressRoute | undefined> {
    try {
      return (await this.#api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: this.namespace,
        plural: PLURAL,
        name,
      })) as StoredIngressRoute;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new Error(`reading IngressRoute ${this.namespace}/${name} failed`, { cause: error });
    }
  }

  /** The managed IngressRoute of `route`; throws when one exists that is not ours. */
  async read(route: string): Promise<StoredIngressRoute | undefined> {
    const name = objectName(route);
    const existing = await this.#get(name);
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
    const common = { group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL };
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
      const stored = (await this.#api.replaceNamespacedCustomObject({
        ...common,
        name: object.metadata.name,
        body,
      })) as StoredIngressRoute;
      return { replaced: true, uid: stored.metadata.uid ?? "" };
    }
    const stored = (await this.#api.createNamespacedCustomObject({
      ...common,
      body: object,
    })) as StoredIngressRoute;
    return { replaced: false, uid: stored.metadata.uid ?? "" };
  }

  async remove(route: string): Promise<boolean> {
    const existing = await this.read(route);
    if (!existing) return false;
    try {
      await this.#api.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: this.namespace,
        plural: PLURAL,
        name: existing.metadata.name,
        body: { preconditions: { resourceVersion: existing.metadata.resourceVersion } },
      });
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw new Error(`deleting IngressRoute ${this.namespace}/${existing.metadata.name} failed`, {
        cause: error,
      });
    }
    return true;
  }

  async list(): Promise<StoredIngressRoute[]> {
    const res = (await this.#api.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: PLURAL,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    })) as { items?: StoredIngressRoute[] };
    return (res.items ?? []).filter(isManaged);
  }
}
