/**
 * A TLS handshake to a host to see the certificate it really serves: who
 * issued it, for which names, until when, and whether this process would trust
 * it. Verification is done after the handshake (rejectUnauthorized off) so a
 * bad certificate is reported instead of failing the call.
 */
import { checkServerIdentity, connect, type DetailedPeerCertificate, type PeerCertificate } from "node:tls";

export interface SslCheckInput {
  readonly host: string;
  /** @default 443 */
  readonly port?: number;
  /** SNI name and the name checked against the certificate. @default host */
  readonly servername?: string;
  /** Extra trusted CA certificates (PEM), e.g. a homelab CA. @default Node's bundled roots */
  readonly caPem?: string;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltNames: string[];
  readonly validFrom: string;
  readonly validTo: string;
  readonly fingerprint256: string;
}

export interface SslCheckResult {
  readonly host: string;
  readonly port: number;
  readonly servername: string;
  readonly protocol: string | null;
  readonly certificate: CertificateSummary;
  /** Issuers up the chain the server sent, leaf's issuer first. */
  readonly chain: CertificateSummary[];
  readonly daysLeft: number;
  readonly expired: boolean;
  readonly notYetValid: boolean;
  /** Chain verification against the trusted CAs. */
  readonly authorized: boolean;
  readonly authorizationError: string | null;
  readonly hostnameMatches: boolean;
  readonly hostnameError: string | null;
}

function nameOf(entity: Record<string, string | string[] | undefined> | undefined): string {
  if (!entity) return "";
  return Object.entries(entity)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : (v ?? "")}`)
    .join(", ");
}

function summarise(cert: PeerCertificate): CertificateSummary {
  return {
    subject: nameOf(cert.subject),
    issuer: nameOf(cert.issuer),
    subjectAltNames: (cert.subjectaltname ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    validFrom: new Date(cert.valid_from).toISOString(),
    validTo: new Date(cert.valid_to).toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}

export function checkSsl(input: SslCheckInput, now: Date = new Date()): Promise<SslCheckResult> {
  const port = input.port ?? 443;
  const servername = input.servername ?? input.host;
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: input.host,
      port,
      // SNI must not be an IP address (RFC 6066).
      ...(/^[\d.]+$|:/.test(servername) ? {} : { servername }),
      rejectUnauthorized: false,
      ...(input.caPem ? { ca: input.caPem } : {}),
    });
    socket.setTimeout(input.timeoutMs ?? 5000, () => {
      socket.destroy(new Error(`TLS handshake with ${input.host}:${port} timed out`));
    });
    socket.once("error", (cause: Error) =>
      reject(new Error(`TLS connection to ${input.host}:${port} failed: ${cause.message}`, { cause })),
    );
    socket.once("secureConnect", () => {
      const peer = socket.getPeerCertificate(true);
      if (!peer || Object.keys(peer).length === 0) {
        socket.destroy();
        reject(new Error(`${input.host}:${port} sent no certificate`));
        return;
      }
      const chain: CertificateSummary[] = [];
      const seen = new Set<string>([peer.fingerprint256]);
      for (
        let c: DetailedPeerCertificate | undefined = peer.issuerCertificate;
        c && !seen.has(c.fingerprint256);
        c = c.issuerCertificate
      ) {
        seen.add(c.fingerprint256);
        chain.push(summarise(c));
      }
      const identityError = checkServerIdentity(servername, peer);
      const validTo = new Date(peer.valid_to);
      const validFrom = new Date(peer.valid_from);
      const authError = socket.authorizationError as Error | string | null | undefined;
      resolve({
        host: input.host,
        port,
        servername,
        protocol: socket.getProtocol(),
        certificate: summarise(peer),
        chain,
        daysLeft: Math.floor((validTo.getTime() - now.getTime()) / 86_400_000),
        expired: validTo.getTime() < now.getTime(),
        notYetValid: validFrom.getTime() > now.getTime(),
        authorized: socket.authorized,
        authorizationError: authError
          ? String(authError instanceof Error ? authError.message : authError)
          : null,
        hostnameMatches: identityError === undefined,
        hostnameError: identityError?.message ?? null,
      });
      socket.end();
    });
  });
}
