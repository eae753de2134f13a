/**
 * spec.egress: where a managed shard's pods may connect to, rendered by the
 * operator as an Egress NetworkPolicy. NetworkPolicy matches addresses, not
 * names, so destinations are CIDRs (a host is given by its address, e.g.
 * 203.0.113.7/32) or in-cluster pods by labels; a name that resolves to
 * changing addresses (a CDN, a SaaS API) cannot be pinned by a NetworkPolicy
 * and needs an egress proxy, which then is the one CIDR listed here.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { celRules } from "./common.ts";

/** An IPv4 or IPv6 range in CIDR notation, its address the first of the range. */
export function isCidr(value: string): boolean {
  const [address = "", prefix, ...rest] = value.split("/");
  const family = isIP(address);
  if (!family || rest.length > 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

const cidr = z
  .string()
  .refine(isCidr, "must be a CIDR range such as 10.0.0.0/8, 203.0.113.7/32 or 2001:db8::/32")
  // The apiserver checks format cidr itself.
  .meta({ format: "cidr" });

export const egressPort = z
  .object({
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .describe("Destination port (the first of a range with endPort)."),
    endPort: z.number().int().min(1).max(65535).optional().describe("Last port of a range."),
    protocol: z.enum(["TCP", "UDP", "SCTP"]).default("TCP").describe("@default TCP"),
  })
  .meta(
    celRules({
      rule: "!has(self.endPort) || self.endPort >= self.port",
      message: "endPort must not be below port",
    }),
  )
  .describe("A destination port or port range.");

export const egressDestination = z
  .object({
    cidr: cidr.optional().describe("Addresses outside the cluster (a host: its address as /32 or /128)."),
    except: z.array(cidr).max(32).optional().describe("Ranges inside cidr that stay forbidden."),
    pods: z
      .object({
        namespace: z
          .string()
          .min(1)
          .optional()
          .describe("Namespace of the pods. @default the shard's namespace"),
        matchLabels: z.record(z.string(), z.string()).describe("Labels the pods carry."),
      })
      .optional()
      .describe("Pods inside the cluster (a database, another service)."),
    ports: z.array(egressPort).max(32).optional().describe("Destination ports. @default every port"),
  })
  .meta(
    celRules(
      { rule: "has(self.cidr) != has(self.pods)", message: "set exactly one of cidr and pods" },
      { rule: "!has(self.except) || has(self.cidr)", message: "except applies to cidr only" },
    ),
  )
  .describe("One allowed destination: a CIDR range or in-cluster pods, on some or all ports.");

export const egressPolicy = z
  .object({
    dns: z
      .boolean()
      .default(true)
      .describe(
        "Allow DNS (port 53, UDP and TCP) to any address, so the shard can resolve names. Any address, not only the cluster DNS pods: NodeLocal DNSCache and k3s resolve elsewhere. Set false (and list your resolver as a destination) to close DNS tunnelling too. @default true",
      ),
    to: z
      .array(egressDestination)
      .max(64)
      .default([])
      .describe("Destinations the shard may connect to; everything else is refused. @default none"),
  })
  .describe(
    "Outbound connections the shard's pods may make, enforced by a NetworkPolicy (a CNI that enforces NetworkPolicy is needed: Calico, Cilium, kube-router; flannel alone does not). When spec.egress is absent the pods may connect anywhere, as before this field existed; when present, only DNS and the listed destinations (`egress: {}` is DNS only). Managed shards only.",
  );

export type EgressPolicy = z.infer<typeof egressPolicy>;
export type EgressDestination = z.infer<typeof egressDestination>;
