import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, createSecureContext, type Server } from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSsl } from "../../src/shards/traefik/ssl.ts";
import { listenLoopback } from "../harness/net.ts";

const run = promisify(execFile);
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

let dir: string;
let server: Server;
let port: number;
let caPem: string;

/** A CSR for `host` with a SAN, signed by the test CA, either for two days or over a window in 2020. */
async function issue(name: string, host: string, expired: boolean): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const crt = join(dir, `${name}.crt`);
  await run("openssl", [
    "req",
    "-new",
    ...EC,
    "-keyout",
    key,
    "-out",
    csr,
    "-subj",
    `/CN=${host}`,
    "-addext",
    `subjectAltName=DNS:${host}`,
  ]);
  if (expired) {
    // `openssl x509` cannot backdate; `openssl ca` can, with a minimal CA database.
    await writeFile(join(dir, "index.txt"), "");
    await writeFile(join(dir, "serial"), "1000\n");
    await writeFile(
      join(dir, "ca.cnf"),
      `[ca]\ndefault_ca = d\n[d]\ndatabase = ${dir}/index.txt\nnew_certs_dir = ${dir}\nserial = ${dir}/serial\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\nunique_subject = no\n[p]\ncommonName = supplied\n`,
    );
    await run("openssl", [
      "ca",
      "-batch",
      "-notext",
      "-config",
      join(dir, "ca.cnf"),
      "-cert",
      join(dir, "ca.crt"),
      "-keyfile",
      join(dir, "ca.key"),
      "-in",
      csr,
      "-out",
      crt,
      "-startdate",
      "20200101000000Z",
      "-enddate",
      "20200201000000Z",
    ]);
  } else {
    await writeFile(join(dir, `${name}.ext`), `subjectAltName=DNS:${host}\n`);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      join(dir, "ca.crt"),
      "-CAkey",
      join(dir, "ca.key"),
      "-CAcreateserial",
      "-days",
      "30",
      "-out",
      crt,
      "-extfile",
      join(dir, `${name}.ext`),
    ]);
  }
  return { cert: await readFile(crt, "utf8"), key: await readFile(key, "utf8") };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shardgate-ssl-"));
  await run("openssl", [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    join(dir, "ca.key"),
    "-out",
    join(dir, "ca.crt"),
    "-days",
    "30",
    "-subj",
    "/CN=Homelab Test CA",
  ]);
  caPem = await readFile(join(dir, "ca.crt"), "utf8");
  const valid = await issue("valid", "app.home.arpa", false);
  const expired = await issue("expired", "old.home.arpa", true);
  const contexts = new Map([
    ["app.home.arpa", createSecureContext(valid)],
    ["old.home.arpa", createSecureContext(expired)],
  ]);
  server = createServer(
    { ...valid, SNICallback: (name, cb) => cb(null, contexts.get(name) ?? contexts.get("app.home.arpa")) },
    (s) => s.end(),
  );
  port = await listenLoopback(server);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("checkSsl against a local TLS server", () => {
  it("reports a valid certificate from a trusted CA", async () => {
    const r = await checkSsl({ host: "127.0.0.1", port, servername: "app.home.arpa", caPem });
    expect(r.authorized).toBe(true);
    expect(r.authorizationError).toBeNull();
    expect(r.hostnameMatches).toBe(true);
    expect(r.expired).toBe(false);
    expect(r.daysLeft).toBeGreaterThanOrEqual(28);
    expect(r.certificate.subjectAltNames).toEqual(["DNS:app.home.arpa"]);
    expect(r.certificate.issuer).toContain("CN=Homelab Test CA");
  });

  it("reports an untrusted chain without failing the call", async () => {
    const r = await checkSsl({ host: "127.0.0.1", port, servername: "app.home.arpa" });
    expect(r.authorized).toBe(false);
    expect(r.authorizationError).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/i);
  });

  it("reports an expired certificate", async () => {
    const r = await checkSsl({ host: "127.0.0.1", port, servername: "old.home.arpa", caPem });
    expect(r.expired).toBe(true);
    expect(r.daysLeft).toBeLessThan(0);
    expect(r.authorized).toBe(false);
    expect(r.authorizationError).toBe("CERT_HAS_EXPIRED");
    expect(r.certificate.validTo).toBe("2020-02-01T00:00:00.000Z");
  });

  it("reports a certificate for another host", async () => {
    const r = await checkSsl({ host: "127.0.0.1", port, servername: "gitea.home.arpa", caPem });
    expect(r.hostnameMatches).toBe(false);
    expect(r.hostnameError).toContain("gitea.home.arpa");
    expect(r.certificate.subject).toContain("CN=app.home.arpa");
  });

  it("fails clearly when nothing listens", async () => {
    const closed = createServer();
    const freePort = await listenLoopback(closed);
    await new Promise((resolve) => closed.close(resolve));
    await expect(checkSsl({ host: "127.0.0.1", port: freePort })).rejects.toThrow(
      /TLS connection to 127.0.0.1:\d+ failed/,
    );
  });
});
