import {
  Informer,
  splitKey,
  type InformerListener,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from "../kube/index.ts";

/** The informers of one kind across the watched namespaces (one informer when watching all). */
export class InformerSet<T extends KubeObject> {
  readonly type: ResourceType;
  readonly #byNamespace = new Map<string, Informer<T>>();
  readonly #all: Informer<T> | undefined;

  constructor(
    client: KubeClient,
    type: ResourceType,
    namespaces: readonly string[],
    options: {
      labelSelector?: string;
      resyncMs?: number;
      transform?: (object: KubeObject) => KubeObject;
      indexBy?: (object: KubeObject) => string | undefined;
    } = {},
  ) {
    this.type = type;
    if (namespaces.length === 0) {
      this.#all = new Informer<T>({ client, type, ...options });
    } else {
      for (const namespace of namespaces)
        this.#byNamespace.set(namespace, new Informer<T>({ client, type, namespace, ...options }));
    }
  }

  get #informers(): Informer<T>[] {
    return this.#all ? [this.#all] : [...this.#byNamespace.values()];
  }

  get(key: string): T | undefined {
    if (this.#all) return this.#all.get(key);
    return this.#byNamespace.get(splitKey(key).namespace ?? "")?.get(key);
  }

  /** See Informer.observe: a write's answer, cached ahead of its watch event. */
  observe(object: T): void {
    const informer = this.#all ?? this.#byNamespace.get(object.metadata?.namespace ?? "");
    informer?.observe(object);
  }

  list(): T[] {
    return this.#informers.flatMap((i) => i.list());
  }

  /** Objects whose `indexBy` value is `value`, from every namespace watched. */
  indexed(value: string): T[] {
    return this.#informers.flatMap((i) => i.indexed(value));
  }

  on(listener: InformerListener<T>): () => void {
    const offs = this.#informers.map((i) => i.on(listener));
    return () => offs.forEach((off) => off());
  }

  start(): void {
    for (const informer of this.#informers) informer.start();
  }

  get hasSynced(): boolean {
    return this.#informers.every((i) => i.hasSynced);
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
  }
}
