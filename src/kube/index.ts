/**
 * Shared Kubernetes plumbing for the operator and the gateway.
 *
 *   const kc = loadKubeConfig({ kubeconfig });          // file, KUBECONFIG or in-cluster
 *   const client = new KubeClient(kc);
 *   const shards = new Informer<McpShard>({ client, type: RESOURCES.mcpShard, namespace });
 *   shards.on((event) => { ... });                      // add/update/delete/resync/resynced/synced/error/restart
 *   shards.start(); await shards.waitForSync();
 *   shards.list(); shards.get("ns/name");
 *   await client.apply(RESOURCES.service, obj, { fieldManager: "me" }); // server-side apply, force
 *   await shards.stop(); await client.close();
 */
export { loadKubeConfig, type KubeAccess, type LoadKubeConfigOptions } from "./config.ts";
export {
  KubeClient,
  KubeApiError,
  isNotFound,
  isConflict,
  isGone,
  type ApplyOptions,
  type ListOptions,
  type WatchOptions,
  type RequestOptions,
} from "./client.ts";
export {
  Informer,
  withoutManagedFields,
  type InformerEvent,
  type InformerListener,
  type InformerOptions,
  type RestartReason,
} from "./informer.ts";
export { RESOURCES, apiVersionOf, resourcePath, resourceTypeOf, type ResourceType } from "./resources.ts";
export {
  objectKey,
  splitKey,
  type KubeObject,
  type ObjectList,
  type ObjectMeta,
  type OwnerReference,
  type ManagedFieldsEntry,
  type WatchEvent,
  type WatchEventType,
} from "./types.ts";
