/**
 * Where create_route and delete_route put routes: the dynamic directory of
 * Traefik's file provider (file-routes.ts) or IngressRoutes in a namespace
 * (ingressroute-routes.ts). operations.ts speaks only this interface, so each
 * tool has one code path and the mode lives in which store the shard was given.
 */
import type { RouteSpec } from "./route-spec.ts";
import type { Protocol } from "./api.ts";
import type { KnownObjects, ValidationIssue } from "./validate.ts";

export interface CreateOptions {
  readonly dryRun: boolean;
  readonly replace: boolean;
  /** What Traefik's API knows, for reference checks. */
  readonly known: KnownObjects;
}

export interface CreateOutcome {
  /** Router name as Traefik's API will show it. */
  readonly apiRouterName: string;
  /** What the tool reports: mode, where it was written (or would be), and how. */
  readonly report: Record<string, unknown>;
}

/** A router reload_config expects to see; UDP routers have no rule. */
export interface ExpectedRouter {
  readonly protocol: Protocol;
  readonly name: string;
  readonly rule?: string;
}

export interface FileValidation {
  file: string;
  managed: boolean;
  valid: boolean;
  errors: readonly ValidationIssue[];
  warnings: readonly ValidationIssue[];
}

export interface RouteStore {
  readonly mode: "file" | "ingressroute";
  /** Router names (as Traefik's API shows them) of the routes this store holds. */
  managedRouterNames(): Promise<Set<string>>;
  /** Checks the route and, unless a dry run, writes it; a refusal writes nothing. */
  create(spec: RouteSpec, rule: string, options: CreateOptions): Promise<CreateOutcome>;
  /** Removes a route this store manages (a Refusal when there is none); the routers that should go. */
  delete(name: string): Promise<{ removed: boolean; routerNames: string[] }>;
  /** Makes Traefik re-read what the store holds, and says which routers must then be there. */
  reload(
    known: KnownObjects,
  ): Promise<{ expected: ExpectedRouter[]; touched: string[]; directory?: FileValidation[] }>;
  /** Why a route written a moment ago may not show in Traefik's API yet. */
  stalledHint(known: KnownObjects): Promise<string>;
  /** File mode: every file of the watched directory checked; undefined where there is no directory. */
  readonly validateFiles?: (known: KnownObjects) => Promise<{ dir: string; files: FileValidation[] }>;
}
