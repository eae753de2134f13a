/**
 * The CRDs every test control plane starts with: crds/*.yaml (ours) and
 * Traefik's, installed before the controllers start (see control-plane.ts
 * beforeControllers) and waited for until Established.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot, traefikCrdsPath } from "./binaries.ts";

const run = promisify(execFile);

/** YAML manifests to install before any test: crds/*.yaml (ours) and Traefik's. */
function crdFiles(): string[] {
  const files: string[] = [];
  const ours = join(repoRoot(), "crds");
  if (existsSync(ours)) {
    for (const name of readdirSync(ours).sort()) {
      if (/\.ya?ml$/.test(name)) files.push(join(ours, name));
    }
  }
  files.push(traefikCrdsPath());
  return files;
}

async function installCrds(kubeconfig: string, files: string[]): Promise<void> {
  const kubectl = async (args: string[]) => {
    try {
      await run("kubectl", ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 });
    } catch (cause) {
      const stderr = (cause as { stderr?: string }).stderr ?? "";
      throw new Error(`kubectl ${args.join(" ")} failed: ${stderr.trim()}`, { cause });
    }
  };
  // Server-side apply: Traefik's CRDs are too large for the last-applied annotation.
  await kubectl([
    "apply",
    "--server-side",
    "--force-conflicts",
    "--field-manager=shardgate-test",
    ...files.flatMap((f) => ["-f", f]),
  ]);
  await kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
}

/** Installs crdFiles() with the admin kubeconfig (a control-plane.ts beforeControllers hook). */
export function installTestCrds(kubeconfig: string): Promise<void> {
  return installCrds(kubeconfig, crdFiles());
}
