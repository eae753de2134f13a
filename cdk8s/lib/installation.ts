/**
 * The shardgate installation as a cdk8s Chart: the same objects the Helm
 * chart renders with its defaults, for `kubectl apply -f` users, one
 * construct per component (operator.ts, gateway.ts, traefik-shard.ts, watchman-shard.ts) built
 * on the Kubernetes L1 types (cdk8s-plus-33's `k8s` imports). Rules come from
 * rbac.ts and the McpShard is typed by the API's zod schema, so neither can
 * drift from the code that uses them.
 */
import { Chart, type ChartProps } from "cdk8s";
import { k8s } from "cdk8s-plus-33";
import type { Construct } from "constructs";
import { readPackage } from "../../src/package-info.ts";
import type { ComponentContext } from "./common.ts";
import { Gateway } from "./gateway.ts";
import { Operator } from "./operator.ts";
import { TraefikShard } from "./traefik-shard.ts";
import { WatchmanShard, type WatchmanShardProps } from "./watchman-shard.ts";

export { CONTAINER_SECURITY_CONTEXT, POD_SECURITY_CONTEXT, SHARD_CLIENT_LABEL } from "./common.ts";
export { GATEWAY_SHUTDOWN_MARGIN_SECONDS } from "./gateway.ts";

export interface InstallationProps extends ChartProps {
  /** Namespace of every namespaced object. @default "shardgate" */
  readonly namespace?: string;
  /** Prefix of every object name. @default "shardgate" */
  readonly name?: string;
  /** @default ghcr.io/shardgate/shardgate:<package version> */
  readonly image?: string;
  /** Gateway replicas; more than one needs the session Secret (see README). @default 1 */
  readonly gatewayReplicas?: number;
  /** Secrets the gateway may read for spec.auth. @default none */
  readonly authSecretNames?: readonly string[];
  /**
   * The gateway's drain on SIGTERM (see GatewayProps.shutdown).
   * @default { delaySeconds: 5, graceSeconds: 25 }
   */
  readonly gatewayShutdown?: { readonly delaySeconds?: number; readonly graceSeconds?: number };
  /** Declare the Traefik shard (file mode, hostPath dynamic directory). @default true */
  readonly traefikShard?: boolean;
  /** @default http://traefik.traefik.svc.cluster.local:8080 */
  readonly traefikApiUrl?: string;
  /** @default /var/lib/traefik/dynamic */
  readonly traefikDynamicDir?: string;
  /** Declare the Watchman shard (logs and stats), with these settings. @default not declared (as the chart) */
  readonly watchmanShard?: WatchmanShardProps;
}

export class ShardgateInstallation extends Chart {
  constructor(scope: Construct, id: string, props: InstallationProps = {}) {
    // Not handed to cdk8s: its chart namespace would land on cluster-scoped objects too.
    super(scope, id, { ...props, namespace: undefined });
    const version = readPackage().version;
    const ctx: ComponentContext = {
      namespace: props.namespace ?? "shardgate",
      name: props.name ?? "shardgate",
      version,
      image: props.image ?? `ghcr.io/shardgate/shardgate:${version}`,
    };
    new k8s.KubeNamespace(this, "namespace", { metadata: { name: ctx.namespace } });
    new Operator(this, "operator", ctx);
    new Gateway(this, "gateway", ctx, {
      replicas: props.gatewayReplicas,
      authSecretNames: props.authSecretNames,
      shutdown: props.gatewayShutdown,
    });
    if (props.traefikShard ?? true)
      new TraefikShard(this, "traefik-shard", ctx, {
        apiUrl: props.traefikApiUrl,
        dynamicDir: props.traefikDynamicDir,
      });
    if (props.watchmanShard) new WatchmanShard(this, "watchman-shard", ctx, props.watchmanShard);
  }
}
