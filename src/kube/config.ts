import { existsSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";

export interface LoadKubeConfigOptions {
  /**
   * Path of a kubeconfig file.
   * @default $KUBECONFIG, then the in-cluster service account, then ~/.kube/config
   */
  readonly kubeconfig?: string;
}

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * An explicit path wins; inside a pod (service account token mounted, no
 * KUBECONFIG) the in-cluster config is used; otherwise client-node's default
 * search ($KUBECONFIG, ~/.kube/config).
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else if (
      !process.env.KUBECONFIG &&
      process.env.KUBERNETES_SERVICE_HOST &&
      existsSync(SERVICE_ACCOUNT_TOKEN)
    )
      kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (cause) {
    throw new Error(`cannot load kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ""}`, { cause });
  }
  if (!kc.getCurrentCluster()) {
    throw new Error("kubeconfig has no current cluster: pass --kubeconfig or set KUBECONFIG");
  }
  return kc;
}
