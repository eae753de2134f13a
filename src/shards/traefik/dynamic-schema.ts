/**
 * The shape of Traefik v3.6 dynamic configuration (file provider), as zod
 * schemas. Objects the shard writes or reasons about (routers, load balancers,
 * TLS on routers) are strict, because Traefik rejects a whole file (and with it
 * every later change in the directory) on one unknown key; option blocks of
 * individual middlewares and transports are checked only for being objects.
 * Field names follow pkg/config/dynamic in Traefik's source; Traefik also
 * accepts them in any case, which key-spelling.ts maps onto these names.
 */
import { z } from "zod";

const stringList = z.array(z.string());
const options = z.record(z.string(), z.unknown());

const domains = z.array(z.strictObject({ main: z.string().optional(), sans: stringList.optional() }));

/** The fields HTTP and TCP routers share (each adds its own `tls` and the rest). */
const routerFields = {
  entryPoints: stringList.optional(),
  middlewares: stringList.optional(),
  service: z.string().optional(),
  rule: z.string(),
  ruleSyntax: z.string().optional(),
  priority: z.number().int().optional(),
};

const routerTls = z.strictObject({
  certResolver: z.string().optional(),
  options: z.string().optional(),
  domains: domains.optional(),
});

const httpRouter = z.strictObject({
  ...routerFields,
  tls: routerTls.nullable().optional(),
  observability: options.optional(),
  parentRefs: stringList.optional(),
});

const httpServer = z.strictObject({
  url: z.url({ message: "expected an absolute URL such as http://127.0.0.1:8080" }),
  weight: z.number().int().min(0).optional(),
  preservePath: z.boolean().optional(),
  fenced: z.boolean().optional(),
});

const loadBalancer = z.strictObject({
  servers: z.array(httpServer).min(1, "a load balancer needs at least one server"),
  sticky: options.optional(),
  strategy: z.string().optional(),
  healthCheck: options.optional(),
  passiveHealthCheck: options.optional(),
  passHostHeader: z.boolean().optional(),
  responseForwarding: options.optional(),
  serversTransport: z.string().optional(),
});

const weightedServices = z.array(
  z.strictObject({ name: z.string(), weight: z.number().int().min(0).optional() }),
);

const httpService = z
  .strictObject({
    loadBalancer: loadBalancer.optional(),
    highestRandomWeight: options.optional(),
    weighted: z
      .strictObject({
        services: weightedServices,
        sticky: options.optional(),
        healthCheck: options.optional(),
      })
      .optional(),
    mirroring: options.optional(),
    failover: options.optional(),
  })
  .refine((s) => Object.keys(s).length === 1, {
    message:
      "a service must have exactly one of loadBalancer, weighted, mirroring, failover, highestRandomWeight",
  });

export const HTTP_MIDDLEWARE_TYPES = [
  "addPrefix",
  "stripPrefix",
  "stripPrefixRegex",
  "replacePath",
  "replacePathRegex",
  "chain",
  "ipWhiteList",
  "ipAllowList",
  "headers",
  "errors",
  "rateLimit",
  "redirectRegex",
  "redirectScheme",
  "basicAuth",
  "digestAuth",
  "forwardAuth",
  "inFlightReq",
  "buffering",
  "circuitBreaker",
  "compress",
  "passTLSClientCert",
  "retry",
  "contentType",
  "grpcWeb",
  "plugin",
  "requestHeaderModifier",
  "responseHeaderModifier",
  "requestRedirect",
  "URLRewrite",
] as const;

function middlewareSchema(types: readonly string[]) {
  return z
    .strictObject(Object.fromEntries(types.map((t) => [t, options.nullable().optional()])))
    .refine((m) => Object.keys(m).length === 1, {
      message: `a middleware must have exactly one type, one of: ${types.join(", ")}`,
    });
}

const http = z.strictObject({
  routers: z.record(z.string(), httpRouter).optional(),
  services: z.record(z.string(), httpService).optional(),
  middlewares: z.record(z.string(), middlewareSchema(HTTP_MIDDLEWARE_TYPES)).optional(),
  serversTransports: z.record(z.string(), options).optional(),
});

const tcpRouter = z.strictObject({
  ...routerFields,
  tls: z
    .strictObject({
      passthrough: z.boolean().optional(),
      certResolver: z.string().optional(),
      options: z.string().optional(),
      domains: domains.optional(),
    })
    .nullable()
    .optional(),
});

const tcpService = z
  .strictObject({
    loadBalancer: z
      .strictObject({
        servers: z.array(
          z.strictObject({ address: z.string(), tls: z.boolean().optional(), weight: z.number().optional() }),
        ),
        serversTransport: z.string().optional(),
        proxyProtocol: options.optional(),
        terminationDelay: z.number().optional(),
        healthCheck: options.optional(),
      })
      .optional(),
    weighted: z.strictObject({ services: weightedServices }).optional(),
  })
  .refine((s) => Object.keys(s).length === 1, {
    message: "a TCP service must have exactly one of loadBalancer, weighted",
  });

const tcp = z.strictObject({
  routers: z.record(z.string(), tcpRouter).optional(),
  services: z.record(z.string(), tcpService).optional(),
  middlewares: z
    .record(z.string(), middlewareSchema(["ipWhiteList", "ipAllowList", "inFlightConn"]))
    .optional(),
  serversTransports: z.record(z.string(), options).optional(),
});

const udp = z.strictObject({
  routers: z
    .record(z.string(), z.strictObject({ entryPoints: stringList.optional(), service: z.string() }))
    .optional(),
  services: z
    .record(
      z.string(),
      z
        .strictObject({
          loadBalancer: z
            .strictObject({ servers: z.array(z.strictObject({ address: z.string() })) })
            .optional(),
          weighted: z.strictObject({ services: weightedServices }).optional(),
        })
        .refine((s) => Object.keys(s).length === 1, {
          message: "a UDP service must have exactly one of loadBalancer, weighted",
        }),
    )
    .optional(),
});

const tls = z.strictObject({
  certificates: z
    .array(z.strictObject({ certFile: z.string(), keyFile: z.string(), stores: stringList.optional() }))
    .optional(),
  options: z.record(z.string(), options).optional(),
  stores: z.record(z.string(), options).optional(),
});

/** One file-provider document. Every section is optional; an empty file is valid. */
export const dynamicConfigSchema = z.strictObject({
  http: http.nullable().optional(),
  tcp: tcp.nullable().optional(),
  udp: udp.nullable().optional(),
  tls: tls.nullable().optional(),
});

export type DynamicConfig = z.infer<typeof dynamicConfigSchema>;
