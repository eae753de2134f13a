/**
 * Where the Docker API is, from DOCKER_HOST's syntax. The shard is meant to
 * sit behind a GET-only socket proxy (seed 001: never mount docker.sock into
 * an MCP shard), so a raw socket is refused unless explicitly allowed: the
 * engine's own socket accepts every write, i.e. root on the host.
 */

export type DockerEndpoint =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number; readonly display: string }
  | { readonly kind: "unix"; readonly socketPath: string; readonly display: string };

/** Docker's plain-HTTP port, DOCKER_HOST's default for tcp:// without one. */
const DEFAULT_TCP_PORT = 2375;

export class DockerHostError extends Error {
  override readonly name = "DockerHostError";
}

const PROXY_ADVICE =
  "put a GET-only Docker socket proxy in front of the engine (examples/watchman-docker/haproxy.cfg) " +
  "and point DOCKER_HOST (or --docker-host) at it, e.g. tcp://docker-socket-proxy:2375";

function rawSocketRefusal(value: string): DockerHostError {
  return new DockerHostError(
    `refusing to read Docker through the raw socket ${value}: the engine's own socket accepts every ` +
      `request (start, exec, delete), so whoever controls this shard would control the host. ` +
      `Instead ${PROXY_ADVICE}; or pass --allow-raw-socket (SHARDGATE_ALLOW_RAW_SOCKET=true) to accept that risk`,
  );
}

/** DOCKER_HOST (tcp://, http://, unix://, or a bare socket path) → an endpoint, or a DockerHostError. */
export function parseDockerHost(value: string | undefined, allowRawSocket: boolean): DockerEndpoint {
  const raw = value?.trim() ?? "";
  if (raw === "") {
    throw new DockerHostError(`no Docker host given: ${PROXY_ADVICE}`);
  }
  if (raw.startsWith("/") || raw.startsWith("unix://")) {
    const socketPath = raw.startsWith("unix://") ? raw.slice("unix://".length) : raw;
    if (!allowRawSocket) throw rawSocketRefusal(raw);
    if (!socketPath.startsWith("/"))
      throw new DockerHostError(`${raw}: a unix socket needs an absolute path`);
    return { kind: "unix", socketPath, display: `unix://${socketPath}` };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme !== "tcp" && scheme !== "http") {
    throw new DockerHostError(
      `unsupported Docker host ${raw}: use tcp://HOST:PORT (plain HTTP to a socket proxy)` +
        (scheme === "https" || scheme === "ssh" || scheme === "npipe"
          ? `; ${scheme}:// is not supported`
          : ""),
    );
  }
  let url: URL;
  try {
    url = new URL(`http://${raw.slice(scheme.length + 3)}`);
  } catch (cause) {
    throw new DockerHostError(`invalid Docker host ${raw}: expected tcp://HOST:PORT`, { cause });
  }
  if (url.pathname !== "/" || url.search !== "" || url.username !== "") {
    throw new DockerHostError(
      `invalid Docker host ${raw}: expected tcp://HOST:PORT, without a path or credentials`,
    );
  }
  const port = url.port === "" ? DEFAULT_TCP_PORT : Number(url.port);
  // URL keeps IPv6 brackets in hostname; node:http wants them off.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { kind: "tcp", host, port, display: `tcp://${url.host}${url.port === "" ? `:${port}` : ""}` };
}
