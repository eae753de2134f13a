/**
 * What a tool's `target` names on a Docker host, and the container list
 * filter that finds it. Pure.
 *
 *   gitea                  the container named gitea (or an id / id prefix)
 *   container/gitea        the same, spelled out
 *   service/web            every container of the compose service "web"
 *   service/homelab/web    ... of compose project "homelab" only
 *   app=gitea,tier=web     every container carrying all these labels
 */

/** Docker Compose's labels on every container it creates. */
export const COMPOSE_SERVICE_LABEL = "com.docker.compose.service";
export const COMPOSE_PROJECT_LABEL = "com.docker.compose.project";

export type DockerTarget =
  | { readonly kind: "container"; readonly name: string }
  | { readonly kind: "labels"; readonly labels: readonly string[]; readonly display: string };

export class DockerTargetError extends Error {
  override readonly name = "DockerTargetError";
}

/** Docker's own rule for container names (daemon/names.go), plus hex ids. */
const NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const LABEL_KEY = /^[a-zA-Z0-9][a-zA-Z0-9_./-]*$/;

export const TARGET_SYNTAX =
  "a container name or id, service/NAME or service/PROJECT/NAME (Docker Compose), or labels key=value[,key=value]";

export function parseDockerTarget(target: string): DockerTarget {
  const value = target.trim();
  if (value.includes("=")) return labelTarget(value);
  const [kind, ...rest] = value.split("/");
  if (rest.length > 0 && kind === "service") {
    const [project, service] = rest.length === 2 ? rest : [undefined, rest[0]];
    if (
      !service ||
      rest.length > 2 ||
      !NAME.test(service) ||
      (project !== undefined && !NAME.test(project))
    ) {
      throw new DockerTargetError(
        `invalid target "${target}": expected service/NAME or service/PROJECT/NAME`,
      );
    }
    const labels = [`${COMPOSE_SERVICE_LABEL}=${service}`];
    if (project !== undefined) labels.push(`${COMPOSE_PROJECT_LABEL}=${project}`);
    return { kind: "labels", labels, display: value };
  }
  const name = rest.length === 1 && kind === "container" ? (rest[0] ?? "") : value;
  if (!NAME.test(name)) {
    throw new DockerTargetError(`invalid target "${target}": expected ${TARGET_SYNTAX}`);
  }
  return { kind: "container", name: name.replace(/^\//, "") };
}

function labelTarget(value: string): DockerTarget {
  const labels = value.split(",").map((part) => part.trim());
  for (const label of labels) {
    const [key, ...values] = label.split("=");
    if (!key || !LABEL_KEY.test(key) || values.length !== 1 || /[\s,]/.test(values[0] ?? "")) {
      throw new DockerTargetError(`invalid label selector "${value}": expected key=value[,key=value]`);
    }
  }
  return { kind: "labels", labels, display: value };
}

/** The `filters` query parameter of GET /containers/json for a label target. */
export function labelFilters(labels: readonly string[]): string {
  return JSON.stringify({ label: labels });
}
