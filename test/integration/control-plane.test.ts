// Proves the harness runs the real thing: real controllers act, real RBAC
// denies, CRDs are served, the apiserver restarts over the same etcd, and the
// real Traefik routes.
import { createServer, type Server } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import {
  applyYaml,
  auditEvents,
  kubeConfig,
  kubeconfigPath,
  kubectl,
  startControlPlane,
  startTraefik,
  useNamespace,
  userKubeconfig,
  waitFor,
  type Traefik,
} from "../harness/index.ts";
import { listenLoopback } from "../harness/net.ts";

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

describe("the shared control plane", () => {
  const ns = useNamespace("control-plane");

  it("runs the real Deployment and ReplicaSet controllers", async () => {
    const kc = kubeConfig();
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const deployment = await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "web", image: "registry.example.com/web:1" }] },
          },
        },
      },
    });

    const replicaSet = await waitFor(
      async () => {
        const list = await apps.listNamespacedReplicaSet({ namespace: ns.name });
        return list.items.find((rs) =>
          rs.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid),
        );
      },
      { message: "the deployment controller never made a ReplicaSet" },
    );
    expect(replicaSet.spec?.replicas).toBe(2);

    // The ReplicaSet controller then makes the pods (they stay Pending: there is no kubelet).
    const pods = await waitFor(
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=web" });
        return list.items.length === 2 ? list.items : undefined;
      },
      { message: "the ReplicaSet controller never made 2 pods" },
    );
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences?.[0]?.uid).toBe(replicaSet.metadata?.uid);
    }
  });

  it("garbage-collects the dependents of a deleted owner", async () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: { metadata: { name: "owner" }, data: { role: "owner" } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: {
        metadata: {
          name: "dependent",
          ownerReferences: [
            { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata!.uid! },
          ],
        },
      },
    });

    await core.deleteNamespacedConfigMap({ name: "owner", namespace: ns.name });

    await waitFor(
      async () => {
        try {
          await core.readNamespacedConfigMap({ name: "dependent", namespace: ns.name });
          return false;
        } catch (err) {
          if (statusOf(err) === 404) return true;
          throw err;
        }
      },
      { timeoutMs: 60_000, message: "the garbage collector never deleted the dependent" },
    );
  });

  it("serves Traefik's IngressRoute CRD, readable with kubectl", async () => {
    const kc = kubeConfig();
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: "traefik.io",
      version: "v1alpha1",
      namespace: ns.name,
      plural: "ingressroutes",
      body: {
        apiVersion: "traefik.io/v1alpha1",
        kind: "IngressRoute",
        metadata: { name: "hello" },
        spec: {
          entryPoints: ["web"],
          routes: [{ match: "PathPrefix(`/hello`)", kind: "Rule", services: [{ name: "hello", port: 80 }] }],
        },
      },
    });

    const { stdout } = await kubectl(["get", "ingressroutes.traefik.io", "-n", ns.name, "-o", "json"], {
      kubeconfig: kubeconfigPath(),
    });
    const list = JSON.parse(stdout);
    expect(list.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["hello"]);
    expect(list.items[0].spec.routes[0].match).toBe("PathPrefix(`/hello`)");
  });

  it("enforces RBAC on minted users and audits their writes", async () => {
    const user = `tester-${Math.random().toString(36).slice(2, 8)}`;
    const userKc = kubeConfig(await userKubeconfig(user, ["shardgate:testers"]));
    const asUser = userKc.makeApiClient(CoreV1Api);
    const body = { metadata: { name: `by-${user}` }, data: { a: "b" } };

    const denied = await asUser.createNamespacedConfigMap({ namespace: ns.name, body }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(statusOf(denied)).toBe(403);
    await expect(asUser.listNamespacedSecret({ namespace: ns.name })).rejects.toMatchObject({ code: 403 });

    await applyYaml(
      kubeConfig(),
      `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: configmap-writer }
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [create, get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: configmap-writer }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-writer }
subjects:
  - { apiGroup: rbac.authorization.k8s.io, kind: Group, name: "shardgate:testers" }
`,
      { namespace: ns.name },
    );
    // RBAC changes reach the authorizer through an informer: allow a moment.
    await waitFor(() => asUser.createNamespacedConfigMap({ namespace: ns.name, body }), {
      message: "the RoleBinding never took effect",
    });
    // Still nothing beyond the Role.
    await expect(asUser.listNamespacedSecret({ namespace: ns.name })).rejects.toMatchObject({ code: 403 });

    const mine = (await auditEvents()).filter((e) => e.user.username === user);
    const codes = mine.map((e) => `${e.verb} ${e.objectRef?.resource} ${e.responseStatus?.code}`);
    expect(codes[0]).toBe("create configmaps 403");
    expect(codes.filter((c) => c === "create configmaps 201")).toHaveLength(1);
    expect(mine.every((e) => e.user.groups?.includes("shardgate:testers"))).toBe(true);

    // Not a write, so not audited; but the RBAC binding let the user read.
    const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    expect(
      (await rbac.readNamespacedRole({ name: "configmap-writer", namespace: ns.name })).rules,
    ).toHaveLength(1);
  });
});

describe("a private control plane", () => {
  it("restarts kube-apiserver on the same port and etcd, keeping the data", async () => {
    const cp = await startControlPlane({ controllerManager: false });
    try {
      const core = kubeConfig(cp.kubeconfigPath).makeApiClient(CoreV1Api);
      await core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "survivor" }, data: { kept: "yes" } },
      });

      await cp.restartApiserver();

      // A fresh client: the same kubeconfig still works, so the port and CA are unchanged.
      const after = kubeConfig(cp.kubeconfigPath).makeApiClient(CoreV1Api);
      const cm = await after.readNamespacedConfigMap({ name: "survivor", namespace: "default" });
      expect(cm.data).toEqual({ kept: "yes" });
      expect(
        (await cp.auditEvents()).some((e) => e.verb === "create" && e.objectRef?.name === "survivor"),
      ).toBe(true);
    } finally {
      await cp.stop();
    }
  });
});

describe("startTraefik", () => {
  let backend: Server;
  let backendUrl: string;
  let traefik: Traefik | undefined;
  let fileDir: string;

  beforeAll(async () => {
    backend = createServer((req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(`backend saw ${req.url}`);
    });
    backendUrl = `http://127.0.0.1:${await listenLoopback(backend)}`;
    fileDir = await mkdtemp(join(tmpdir(), "traefik-file-"));
  });

  afterEach(async () => {
    await traefik?.stop();
    traefik = undefined;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => backend.close(() => resolve()));
    await rm(fileDir, { recursive: true, force: true });
  });

  it("routes to a loopback backend from the file provider", async () => {
    await writeFile(
      join(fileDir, "routes.yaml"),
      `http:
  routers:
    hello:
      entryPoints: [web]
      rule: PathPrefix(\`/hello\`)
      service: backend
  services:
    backend:
      loadBalancer:
        servers:
          - url: ${backendUrl}
`,
    );
    traefik = await startTraefik({ fileDir });
    const started = traefik;
    onTestFailed(() => console.error(started.logs().slice(-4000)));
    const body = await waitFor(
      async () => {
        const res = await fetch(`${started.webUrl}/hello/world`);
        return res.status === 200 ? res.text() : undefined;
      },
      { message: "Traefik never routed /hello" },
    );
    expect(body).toBe("backend saw /hello/world");
    expect((await fetch(`${started.webUrl}/elsewhere`)).status).toBe(404);
    expect(started.logs()).toMatch(/ DBG .*hello@file/);
  });

  describe("with the kubernetescrd provider", () => {
    const ns = useNamespace("traefik-crd");

    it("routes an IngressRoute to an ExternalName Service", async () => {
      const port = new URL(backendUrl).port;
      await applyYaml(
        kubeConfig(),
        `
apiVersion: v1
kind: Service
metadata: { name: backend }
spec:
  type: ExternalName
  externalName: 127.0.0.1
  ports: [{ name: http, port: ${port} }]
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: crd-route }
spec:
  entryPoints: [web]
  routes:
    - match: PathPrefix(\`/from-crd\`)
      kind: Rule
      services: [{ name: backend, port: ${port} }]
`,
        { namespace: ns.name },
      );
      traefik = await startTraefik({
        kubeconfig: kubeconfigPath(),
        namespaces: [ns.name],
        allowExternalNameServices: true,
      });
      const started = traefik;
      onTestFailed(() => console.error(started.logs().slice(-4000)));
      const body = await waitFor(
        async () => {
          const res = await fetch(`${started.webUrl}/from-crd`);
          return res.status === 200 ? res.text() : undefined;
        },
        { message: "Traefik never routed the IngressRoute", timeoutMs: 60_000 },
      );
      expect(body).toBe("backend saw /from-crd");
    });
  });
});
