/**
 * How the shard recognises what it owns. A route named `gitea` becomes the
 * file `shardgate-gitea.yaml` (file mode) or the IngressRoute `shardgate-gitea`
 * (ingressroute mode), with a router and service of the same name. Ownership
 * needs both the name and a marker (header comment or label), so a user's own
 * `shardgate-x.yaml` without the header is never overwritten or deleted.
 */
import { Refusal } from "./refusal.ts";
export const NAME_PREFIX = "shardgate-";
export const MANAGED_HEADER = "# managed-by: shardgate";
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "shardgate";

/** DNS-label-like: it ends up in file names, Kubernetes names and Traefik router names. */
const ROUTE_NAME = /^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$/;

export class RouteNameError extends Refusal {
  override name = "RouteNameError";
}

/** Rejects anything that is not a plain lower-case name, so no path can be smuggled in. */
export function checkRouteName(name: string): string {
  if (!ROUTE_NAME.test(name)) {
    throw new RouteNameError(
      `invalid route name ${JSON.stringify(name)}: use 1-52 lower-case letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return name;
}

/** The Traefik object name (router, service) and Kubernetes name for a route. */
export function objectName(route: string): string {
  return NAME_PREFIX + checkRouteName(route);
}

export function fileName(route: string): string {
  return `${objectName(route)}.yaml`;
}

/** The route name back from a managed file name, or undefined for any other file. */
export function routeFromFileName(file: string): string | undefined {
  const match = /^shardgate-([a-z0-9-]+)\.yaml$/.exec(file);
  if (!match?.[1]) return undefined;
  return ROUTE_NAME.test(match[1]) ? match[1] : undefined;
}

export function managedHeader(route: string): string {
  return `${MANAGED_HEADER} route=${route}\n# Written by the shardgate Traefik shard; edits here are overwritten, delete with delete_route.\n`;
}

export function hasManagedHeader(content: string): boolean {
  return content.startsWith(MANAGED_HEADER);
}
