/**
 * The informer against a real HTTP server on loopback that speaks the
 * apiserver's list and watch protocol. A scripted server, because the cases
 * here (a 410 ERROR event at a chosen moment, a connection cut mid-stream)
 * cannot be produced on demand by a real kube-apiserver; the list-then-watch
 * and 410 behaviour of the real one is covered by
 * test/integration/operator-informer.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import {
  Informer,
  KubeClient,
  RESOURCES,
  withoutManagedFields,
  type InformerEvent,
  type InformerOptions,
  type KubeObject,
} from "../../src/kube/index.ts";
import { listenLoopback } from "../harness/net.ts";

interface Request {
  readonly watch: boolean;
  readonly resourceVersion: string | null;
}

/** What the server does with the n-th list or watch request. */
type Script = (req: { watch: boolean; n: number; url: URL }, res: ServerResponse) => void;

let server: Server | undefined;
let informer: Informer<KubeObject> | undefined;
let client: KubeClient | undefined;

afterEach(async () => {
  await informer?.stop();
  await client?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = informer = client = undefined;
});

function cm(name: string, rv: string, extra: Record<string, unknown> = {}): KubeObject {
  return { metadata: { name, namespace: "ns", resourceVersion: rv, ...extra }, data: { v: rv } };
}

function list(res: ServerResponse, rv: string, items: KubeObject[]): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ kind: "ConfigMapList", metadata: { resourceVersion: rv }, items }));
}

function watchStream(res: ServerResponse): (event: unknown) => void {
  res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
  return (event) => res.write(`${JSON.stringify(event)}\n`);
}

async function start(
  script: Script,
  options: Partial<Pick<InformerOptions, "resyncMs" | "indexBy">> = {},
): Promise<{ requests: Request[]; events: InformerEvent<KubeObject>[] }> {
  const requests: Request[] = [];
  const counts = { list: 0, watch: 0 };
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const watch = url.searchParams.get("watch") === "true";
    requests.push({ watch, resourceVersion: url.searchParams.get("resourceVersion") });
    const n = watch ? counts.watch++ : counts.list++;
    script({ watch, n, url }, res);
  });
  const port = await listenLoopback(server);
  client = new KubeClient({
    server: `http://127.0.0.1:${port}`,
    tls: { rejectUnauthorized: true },
    headers: () => Promise.resolve({}),
  });
  const events: InformerEvent<KubeObject>[] = [];
  informer = new Informer({
    client,
    type: RESOURCES.configMap,
    namespace: "ns",
    resyncMs: 0,
    minBackoffMs: 10,
    maxBackoffMs: 40,
    transform: withoutManagedFields,
    ...options,
  });
  informer.on((event) => events.push(event));
  informer.start();
  return { requests, events };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never happened: ${what}`);
}

const summary = (events: InformerEvent<KubeObject>[]) =>
  events.map((e) =>
    "object" in e ? `${e.type} ${e.object.metadata?.name}@${e.object.metadata?.resourceVersion}` : e.type,
  );

describe("informer", () => {
  it("lists, then watches from the list's resourceVersion, and resumes from the last event after a clean close", async () => {
    const { requests, events } = await start(({ watch, n }, res) => {
      if (!watch) return list(res, "10", [cm("a", "5", { managedFields: [{ manager: "x" }] })]);
      const send = watchStream(res);
      if (n === 0) {
        send({ type: "ADDED", object: cm("b", "11") });
        send({ type: "MODIFIED", object: cm("a", "12") });
        send({ type: "BOOKMARK", object: { metadata: { resourceVersion: "15" } } });
        res.end(); // the server's timeoutSeconds ran out
        return;
      }
      send({ type: "DELETED", object: cm("b", "16") });
    });
    await until(() => events.some((e) => e.type === "delete"), "the second watch's DELETED");
    expect(requests.slice(0, 3)).toEqual([
      { watch: false, resourceVersion: null },
      { watch: true, resourceVersion: "10" },
      // From the bookmark: the latest version seen, not the list's.
      { watch: true, resourceVersion: "15" },
    ]);
    expect(summary(events)).toEqual([
      "add a@5",
      "synced",
      "add b@11",
      "update a@12",
      "restart",
      "delete b@16",
    ]);
    expect(informer!.get("ns/a")?.metadata?.managedFields).toBeUndefined();
    expect(informer!.list().map((o) => o.metadata?.name)).toEqual(["a"]);
  });

  it("relists at once on 410 Gone and reports what changed meanwhile", async () => {
    const { requests, events } = await start(({ watch, n }, res) => {
      if (!watch)
        return n === 0
          ? list(res, "10", [cm("a", "5"), cm("b", "6")])
          : list(res, "30", [cm("a", "25"), cm("c", "26")]);
      const send = watchStream(res);
      if (n === 0)
        send({
          type: "ERROR",
          object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" },
        });
    });
    await until(() => requests.filter((r) => r.watch).length >= 2, "the watch after the relist");
    expect(requests.slice(0, 4)).toEqual([
      { watch: false, resourceVersion: null },
      { watch: true, resourceVersion: "10" },
      { watch: false, resourceVersion: null },
      { watch: true, resourceVersion: "30" },
    ]);
    const restarts = events.filter((e) => e.type === "restart");
    expect(restarts).toEqual([{ type: "restart", reason: "gone" }]);
    // A 410 is routine: no error event.
    expect(events.some((e) => e.type === "error")).toBe(false);
    expect(summary(events)).toEqual([
      "add a@5",
      "add b@6",
      "synced",
      "restart",
      "update a@25",
      "add c@26",
      "delete b@6",
      "synced",
    ]);
  });

  it("survives a dropped connection and a failing list: reports them, backs off, relists and watches again", async () => {
    const { requests, events } = await start(({ watch, n }, res) => {
      if (!watch) {
        if (n === 1) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ kind: "Status", code: 500, reason: "InternalError", message: "etcd" }));
          return;
        }
        return list(res, n === 0 ? "10" : "40", [cm("a", n === 0 ? "5" : "35")]);
      }
      const send = watchStream(res);
      if (n === 0) {
        send({ type: "ADDED", object: cm("b", "11") });
        // Cut mid-stream, as a crashing apiserver or a broken proxy does.
        setTimeout(() => res.socket?.destroy(), 20);
      }
    });
    await until(() => requests.filter((r) => r.watch).length >= 2, "a watch after recovering");
    expect(
      requests.map((r) => `${r.watch ? "watch" : "list"}:${r.resourceVersion ?? ""}`).slice(0, 5),
    ).toEqual(["list:", "watch:10", "list:", "list:", "watch:40"]);
    const failures = events.filter((e) => e.type === "error");
    expect(failures.map((e) => e.type === "error" && e.phase)).toEqual(["watch", "list"]);
    expect(events.filter((e) => e.type === "restart")).toEqual([
      { type: "restart", reason: "disconnected" },
      { type: "restart", reason: "disconnected" },
    ]);
    // b was only ever seen in the broken watch; the relist shows it is gone.
    expect(summary(events).filter((s) => s.startsWith("delete") || s.startsWith("update"))).toEqual([
      "update a@35",
      "delete b@11",
    ]);
    expect(informer!.hasSynced).toBe(true);
  });

  it("keeps a write's answer it was told about until the watch brings something newer", async () => {
    let send: ((event: unknown) => void) | undefined;
    const { events } = await start(({ watch }, res) => {
      if (!watch) return list(res, "10", [cm("a", "5")]);
      send = watchStream(res);
    });
    await until(() => send !== undefined, "the watch");
    informer!.observe(cm("a", "20"));
    informer!.observe(cm("a", "15")); // an older answer arriving late changes nothing
    expect(informer!.get("ns/a")?.metadata?.resourceVersion).toBe("20");
    send!({ type: "MODIFIED", object: cm("a", "12") }); // behind the observed write: skipped
    send!({ type: "MODIFIED", object: cm("a", "20") });
    send!({ type: "MODIFIED", object: cm("a", "21") });
    await until(() => summary(events).includes("update a@21"), "the newer version");
    expect(summary(events)).toEqual(["add a@5", "synced", "update a@20", "update a@21"]);
    expect(informer!.get("ns/a")?.data).toEqual({ v: "21" });
  });

  it("does not let a relist that started before an observed write undo it", async () => {
    let send: ((event: unknown) => void) | undefined;
    const { events } = await start(({ watch, n }, res) => {
      if (!watch) return n === 0 ? list(res, "10", [cm("a", "5")]) : list(res, "22", [cm("a", "8")]);
      if (n === 0) send = watchStream(res);
      else watchStream(res);
    });
    await until(() => send !== undefined, "the watch");
    informer!.observe(cm("a", "20"));
    informer!.observe(cm("b", "25")); // created by this process after the list's version
    send!({
      type: "ERROR",
      object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" },
    });
    await until(() => events.filter((e) => e.type === "synced").length === 2, "the relist");
    expect(summary(events)).toEqual(["add a@5", "synced", "restart", "resync a@20", "synced"]);
    expect(informer!.list().map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`)).toEqual([
      "a@20",
      "b@25",
    ]);
  });

  it("resyncs from its cache: every object again, no list or watch request", async () => {
    let send: ((event: unknown) => void) | undefined;
    const { requests, events } = await start(
      ({ watch }, res) => {
        if (!watch) return list(res, "10", [cm("a", "5"), cm("b", "6")]);
        send = watchStream(res);
      },
      { resyncMs: 100 },
    );
    await until(() => send !== undefined, "the watch");
    send!({ type: "MODIFIED", object: cm("a", "11") });
    // A resync may run before the update arrives (a loaded machine): look at those after it. A
    // resync emits its objects and `resynced` in one synchronous run, so none straddles the update.
    await until(() => summary(events).includes("update a@11"), "the update");
    const since = events.length;
    await until(() => events.slice(since).filter((e) => e.type === "resynced").length >= 3, "three resyncs");
    expect(requests).toEqual([
      { watch: false, resourceVersion: null },
      { watch: true, resourceVersion: "10" },
    ]);
    const after = summary(events.slice(since));
    const first = after.indexOf("resynced");
    expect(after.slice(0, first + 1).sort()).toEqual(["resync a@11", "resync b@6", "resynced"]);
    expect(events.find((e) => e.type === "resynced")).toEqual({ type: "resynced", count: 2 });
  });

  it("keeps an index beside the cache through adds, moves, observed writes and deletes", async () => {
    let send: ((event: unknown) => void) | undefined;
    const owner = (o: KubeObject) => (o.data as { owner?: string } | undefined)?.owner;
    const owned = (name: string, rv: string, by: string) => ({ ...cm(name, rv), data: { owner: by } });
    const { events } = await start(
      ({ watch }, res) => {
        if (!watch) return list(res, "10", [owned("a", "5", "x"), owned("b", "6", "x"), cm("c", "7")]);
        send = watchStream(res);
      },
      { indexBy: owner },
    );
    await until(() => send !== undefined, "the watch");
    const names = (value: string) =>
      informer!
        .indexed(value)
        .map((o) => o.metadata?.name)
        .sort();
    expect(names("x")).toEqual(["a", "b"]);
    send!({ type: "MODIFIED", object: owned("b", "11", "y") });
    send!({ type: "DELETED", object: owned("a", "12", "x") });
    await until(() => events.some((e) => e.type === "delete"), "the delete");
    expect(names("x")).toEqual([]);
    expect(names("y")).toEqual(["b"]);
    informer!.observe(owned("c", "20", "y"));
    expect(names("y")).toEqual(["b", "c"]);
  });
});
