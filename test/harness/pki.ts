/**
 * A throwaway certificate authority for one control plane, made with the
 * openssl CLI (node:crypto cannot issue X.509 certificates). P-256 keys keep
 * every issue a few milliseconds; the certificates live for two days.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Ca {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface IssuedCert {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface CertRequest {
  /** File name stem: `<name>.crt` and `<name>.key` in the CA's directory. */
  readonly name: string;
  /** Subject CN: the Kubernetes user name for client certificates. */
  readonly commonName: string;
  /** Subject O entries: the Kubernetes groups for client certificates. */
  readonly organizations?: readonly string[];
  /** Subject alternative names (`IP:127.0.0.1`, `DNS:localhost`); a server certificate when set. */
  readonly altNames?: readonly string[];
}

const KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const DAYS = ["-days", "2"];

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause });
  }
}

/** `openssl req -x509` with a fresh P-256 key written to keyPath, the certificate to certPath. */
function newCertArgs(out: { certPath: string; keyPath: string }, subject: string): string[] {
  return ["req", "-x509", ...KEY_ARGS, "-keyout", out.keyPath, "-out", out.certPath, "-subj", subject];
}

/** RFC 2253-ish escaping for openssl's -subj syntax, where "/" separates entries. */
function subjectPart(value: string): string {
  return value.replace(/[\\/,+=]/g, (c) => `\\${c}`);
}

export async function createCa(dir: string): Promise<Ca> {
  const certPath = join(dir, "ca.crt");
  const keyPath = join(dir, "ca.key");
  await openssl([
    ...newCertArgs({ certPath, keyPath }, "/CN=shardgate-test-ca"),
    ...DAYS,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  return { certPath, keyPath };
}

export async function issueCert(ca: Ca, dir: string, req: CertRequest): Promise<IssuedCert> {
  const certPath = join(dir, `${req.name}.crt`);
  const keyPath = join(dir, `${req.name}.key`);
  const subject =
    (req.organizations ?? []).map((o) => `/O=${subjectPart(o)}`).join("") +
    `/CN=${subjectPart(req.commonName)}`;
  const server = req.altNames !== undefined && req.altNames.length > 0;
  const extensions = [
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-addext",
    "keyUsage=critical,digitalSignature",
    "-addext",
    `extendedKeyUsage=${server ? "serverAuth,clientAuth" : "clientAuth"}`,
  ];
  if (server) extensions.push("-addext", `subjectAltName=${req.altNames.join(",")}`);
  await openssl([
    ...newCertArgs({ certPath, keyPath }, subject),
    "-CA",
    ca.certPath,
    "-CAkey",
    ca.keyPath,
    ...DAYS,
    ...extensions,
  ]);
  return { certPath, keyPath };
}

/** The key pair kube-apiserver signs (and checks) service account tokens with. */
export async function createServiceAccountKey(
  dir: string,
): Promise<{ privatePath: string; publicPath: string }> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const privatePath = join(dir, "sa.key");
  const publicPath = join(dir, "sa.pub");
  await writeFile(privatePath, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  await writeFile(publicPath, publicKey.export({ type: "spki", format: "pem" }));
  return { privatePath, publicPath };
}

export async function readBase64(path: string): Promise<string> {
  return (await readFile(path)).toString("base64");
}
