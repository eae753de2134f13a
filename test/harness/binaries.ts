/**
 * Where the real binaries the tests run live. hack/testbin/build.sh builds
 * each component once per machine into
 * `$SHARDGATE_TESTBIN/<component>-<version>/` (default
 * `~/.cache/shardgate/testbin`), with versions from hack/testbin/versions.env;
 * this module resolves the same paths so the two can never disagree.
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

const REPO_ROOT = resolve(import.meta.dirname, "../..");
const VERSIONS_FILE = join(REPO_ROOT, "hack/testbin/versions.env");

export type BinaryName =
  | "kube-apiserver"
  | "kube-controller-manager"
  | "kube-scheduler"
  | "kubelet"
  | "kube-proxy"
  | "etcd"
  | "helm"
  | "traefik"
  | "coredns"
  | "kube-router"
  | "hydra";

export type Component = "kubernetes" | "etcd" | "helm" | "traefik" | "addons" | "hydra";

/** Which build component (and so which cache folder) ships each binary. */
const COMPONENT: Record<BinaryName, Component> = {
  "kube-apiserver": "kubernetes",
  "kube-controller-manager": "kubernetes",
  "kube-scheduler": "kubernetes",
  kubelet: "kubernetes",
  "kube-proxy": "kubernetes",
  etcd: "etcd",
  helm: "helm",
  traefik: "traefik",
  coredns: "addons",
  "kube-router": "addons",
  hydra: "hydra",
};

/** Binaries that envtest's KUBEBUILDER_ASSETS may provide (same contract as controller-runtime). */
const KUBEBUILDER_BINARIES = new Set<BinaryName>(["kube-apiserver", "etcd", "kube-controller-manager"]);

/** KEY=VALUE lines of hack/testbin/versions.env (comments and blanks ignored). */
export function testbinVersions(): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of readFileSync(VERSIONS_FILE, "utf8").split("\n")) {
    const match = /^\s*([A-Z_]+)=(\S+)\s*$/.exec(line);
    if (match?.[1] && match[2]) versions[match[1]] = match[2];
  }
  return versions;
}

/** The cache root, resolved exactly like build.sh does. */
export function testbinCacheDir(): string {
  const explicit = process.env.SHARDGATE_TESTBIN;
  if (explicit) return explicit;
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cacheHome, "shardgate", "testbin");
}

let addonsKey: string | undefined;

/** The add-ons build is keyed by the hash of its wrapper module: ask build.sh's own helper. */
function addonsDir(): string {
  addonsKey ??= execFileSync(
    "bash",
    ["-c", 'source "$1" && echo "$ADDONS_KEY"', "_", join(REPO_ROOT, "hack/testbin/lib.sh")],
    {
      encoding: "utf8",
    },
  ).trim();
  return join(testbinCacheDir(), `addons-${addonsKey}`);
}

/** The folder build.sh writes one component's binaries into (it may not exist yet). */
export function componentDir(component: Component): string {
  if (component === "addons") return addonsDir();
  const key = `${component.toUpperCase()}_VERSION`;
  const version = testbinVersions()[key];
  if (!version) throw new Error(`${VERSIONS_FILE} has no ${key}`);
  return join(testbinCacheDir(), `${component}-${version}`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of a real binary. KUBEBUILDER_ASSETS wins for the binaries
 * envtest ships, when it holds them. Throws (naming `make testbin`) when the
 * binary has not been built on this machine.
 */
export function binary(name: BinaryName): string {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && KUBEBUILDER_BINARIES.has(name)) {
    const candidate = join(assets, name);
    if (isExecutable(candidate)) return candidate;
  }
  const component = COMPONENT[name];
  const path = join(componentDir(component), name);
  if (!isExecutable(path)) {
    throw new Error(
      `${name} not found at ${path}: run \`make testbin\` (hack/testbin/build.sh ${component}) ` +
        `to build it once on this machine`,
    );
  }
  return path;
}

/** Traefik's CRD definitions, copied beside the traefik binary by build.sh. */
export function traefikCrdsPath(): string {
  const path = join(componentDir("traefik"), "traefik-crds.yaml");
  try {
    accessSync(path, constants.R_OK);
  } catch (cause) {
    throw new Error(`${path} is missing: run \`make testbin\` (hack/testbin/build.sh traefik)`, { cause });
  }
  return path;
}

/** The repository root, for fixtures such as crds/. */
export function repoRoot(): string {
  return REPO_ROOT;
}
