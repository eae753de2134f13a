import { SHARD_ALLOWED_HOSTS_ENV, SHARD_TOKEN_ENV, type McpShard } from "../../api/index.ts";
import type { KubeObject } from "../../kube/index.ts";
import {
  BRIDGE_PORT,
  childMetadata,
  endpointOf,
  prune,
  selectorLabels,
  serviceAccountName,
  shardLabels,
  workloadOf,
  type DesiredOptions,
} from "./common.ts";
import { canonicalQuantities, canonicalQuantity } from "./quantity.ts";
import { serviceHostNames } from "./service.ts";

type Volume = NonNullable<NonNullable<ReturnType<typeof workloadOf>>["volumes"]>[number];

/** An emptyDir's sizeLimit is a quantity too: stated canonically, like resources. */
function canonicalVolume(volume: Volume): Volume {
  const sizeLimit = volume.emptyDir?.sizeLimit;
  return sizeLimit === undefined
    ? volume
    : { ...volume, emptyDir: { ...volume.emptyDir, sizeLimit: canonicalQuantity(sizeLimit) } };
}

/** UID/GID of the distroless "nonroot" user: a sensible non-root default for any image. */
const NONROOT_ID = 65532;

/**
 * The Deployment of a managed (container or stdio) shard, or undefined for an
 * external one. Pods get the secure defaults (non-root, read-only root
 * filesystem, no privilege escalation, no capabilities, seccomp RuntimeDefault,
 * no API token) unless spec.*.securityContext overrides them; /tmp is a
 * writable emptyDir because many MCP servers need scratch space.
 */
export function desiredDeployment(shard: McpShard, options: DesiredOptions): KubeObject | undefined {
  const workload = workloadOf(shard);
  if (!workload) return undefined;
  const stdio = shard.spec.stdio;
  const container = shard.spec.container;
  const { port } = endpointOf(shard);
  const security = workload.securityContext ?? {};
  const serviceAccount = serviceAccountName(shard);

  const image = container?.image ?? stdio?.image ?? options.shardImage;
  const command = stdio ? ["shardgate"] : container?.command;
  const args = stdio ? ["bridge", "--port", String(BRIDGE_PORT), "--", ...stdio.command] : container?.args;
  const auth = shard.spec.auth;
  // Last, so a user's env entry of the same name cannot shadow the token the gateway sends.
  const token = auth?.generate
    ? [{ name: SHARD_TOKEN_ENV, valueFrom: { secretKeyRef: auth.secretKeyRef } }]
    : [];
  // The Host names the shard kit's guard accepts (DNS rebinding; first, so the user's env may widen them).
  const hosts = {
    name: SHARD_ALLOWED_HOSTS_ENV,
    value: serviceHostNames(shard, options.clusterDomain).join(","),
  };
  const env = [hosts, ...(stdio ? [{ name: "HOME", value: "/tmp" }] : []), ...(workload.env ?? []), ...token];

  return prune({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: childMetadata(shard),
    spec: {
      replicas: shard.spec.enabled ? workload.replicas : 0,
      selector: { matchLabels: selectorLabels(shard) },
      template: {
        metadata: { labels: shardLabels(shard) },
        spec: {
          serviceAccountName: serviceAccount,
          automountServiceAccountToken: serviceAccount !== undefined,
          securityContext: {
            runAsNonRoot: security.runAsNonRoot ?? true,
            runAsUser: security.runAsUser ?? NONROOT_ID,
            runAsGroup: security.runAsGroup ?? NONROOT_ID,
            fsGroup: security.fsGroup,
            seccompProfile: { type: "RuntimeDefault" },
          },
          nodeSelector: workload.nodeSelector,
          tolerations: workload.tolerations,
          containers: [
            {
              name: "mcp",
              image,
              imagePullPolicy: workload.imagePullPolicy ?? "IfNotPresent",
              command,
              args,
              ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
              env,
              envFrom: workload.envFrom,
              resources: workload.resources && {
                requests: canonicalQuantities(workload.resources.requests),
                limits: canonicalQuantities(workload.resources.limits),
              },
              readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 10 },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: security.readOnlyRootFilesystem ?? true,
                runAsNonRoot: security.runAsNonRoot ?? true,
                capabilities: { drop: ["ALL"], add: security.capabilitiesAdd },
              },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...(workload.volumeMounts ?? [])],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: {} }, ...(workload.volumes ?? []).map(canonicalVolume)],
        },
      },
    },
  });
}
