/**
 * The built-in Traefik shard, declared as an McpShard for the operator to
 * deploy (file mode, hostPath dynamic directory). McpShard is this project's
 * CRD, typed by the API's zod schema rather than an imported L1 class.
 */
import { ApiObject } from "cdk8s";
import { Construct } from "constructs";
import { API_VERSION, KIND, mcpShardSpec, type McpShardSpecInput } from "../../src/api/index.ts";
import { metadata, type ComponentContext } from "./common.ts";

export interface TraefikShardProps {
  /** @default http://traefik.traefik.svc.cluster.local:8080 */
  readonly apiUrl?: string;
  /** @default /var/lib/traefik/dynamic */
  readonly dynamicDir?: string;
}

export class TraefikShard extends Construct {
  constructor(scope: Construct, id: string, ctx: ComponentContext, props: TraefikShardProps = {}) {
    super(scope, id);
    const spec: McpShardSpecInput = {
      description: "Traefik: inspect routers, services and TLS; add and remove routes (file mode).",
      container: {
        image: ctx.image,
        args: ["shard", "traefik"],
        port: 8080,
        path: "/mcp",
        env: [
          { name: "LOG_FORMAT", value: "json" },
          {
            name: "SHARDGATE_TRAEFIK_API_URL",
            value: props.apiUrl ?? "http://traefik.traefik.svc.cluster.local:8080",
          },
          { name: "SHARDGATE_MODE", value: "file" },
          { name: "SHARDGATE_DYNAMIC_DIR", value: "/dynamic" },
        ],
        volumes: [
          {
            name: "dynamic",
            hostPath: { path: props.dynamicDir ?? "/var/lib/traefik/dynamic", type: "DirectoryOrCreate" },
          },
        ],
        volumeMounts: [{ name: "dynamic", mountPath: "/dynamic" }],
        resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
      },
    };
    // Fails the synth with zod's message, as the apiserver would refuse it.
    mcpShardSpec.parse(spec);
    const { name, namespace, labels } = metadata(ctx, "traefik", "traefik-shard");
    new ApiObject(this, "shard", {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name, namespace, labels },
      spec,
    });
  }
}
