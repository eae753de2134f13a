/**
 * The Secrets of spec.auth.generate. The operator may not list or watch
 * Secrets (that would let it read every one in the cluster), so it keeps
 * which ones it has seen exist: one GET per shard per operator lifetime, a
 * create when missing, and again after a verification could not read it.
 */
import { isConflict, objectKey, RESOURCES, type KubeClient, type KubeObject } from "../../kube/index.ts";
import { randomToken } from "../desired/index.ts";

export class TokenSecrets {
  readonly #client: KubeClient;
  /** ns/name@owner uid of Secrets known to exist. */
  readonly #known = new Set<string>();

  constructor(client: KubeClient) {
    this.#client = client;
  }

  #id(secret: KubeObject): string {
    return `${objectKey(secret)}@${secret.metadata?.ownerReferences?.[0]?.uid ?? ""}`;
  }

  known(secret: KubeObject): boolean {
    return this.#known.has(this.#id(secret));
  }

  /** Forget every Secret of the shard `ownerUid` (it was deleted, or its Secret went missing). */
  forget(ownerUid: string | undefined): void {
    for (const id of this.#known) if (id.endsWith(`@${ownerUid ?? ""}`)) this.#known.delete(id);
  }

  /** Creates the Secret with a fresh token unless it exists (whoever made it: a user may bring their own). */
  async ensure(secret: KubeObject, key: string): Promise<void> {
    const { namespace, name = "" } = secret.metadata ?? {};
    const existing = await this.#client.find(RESOURCES.secret, namespace, name);
    if (!existing) {
      try {
        await this.#client.create(RESOURCES.secret, { ...secret, stringData: { [key]: randomToken() } });
      } catch (error) {
        // Created meanwhile (another replica of the operator, or its user): that one counts.
        if (!isConflict(error)) throw error;
      }
    }
    this.#known.add(this.#id(secret));
  }
}
