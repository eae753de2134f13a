/** Self-contained kubeconfig files (certificates embedded, so they outlive nothing). */
import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import { readBase64 } from "./pki.ts";

export interface KubeconfigInput {
  readonly server: string;
  readonly caCertPath: string;
  readonly user: string;
  readonly clientCertPath: string;
  readonly clientKeyPath: string;
  /** @default "default" */
  readonly namespace?: string;
}

export async function writeKubeconfig(path: string, input: KubeconfigInput): Promise<string> {
  const [ca, cert, key] = await Promise.all([
    readBase64(input.caCertPath),
    readBase64(input.clientCertPath),
    readBase64(input.clientKeyPath),
  ]);
  const cluster = "shardgate-test";
  const context = `${input.user}@${cluster}`;
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: { server: input.server, "certificate-authority-data": ca } }],
    users: [{ name: input.user, user: { "client-certificate-data": cert, "client-key-data": key } }],
    contexts: [
      { name: context, context: { cluster, user: input.user, namespace: input.namespace ?? "default" } },
    ],
    "current-context": context,
    preferences: {},
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
  return path;
}
