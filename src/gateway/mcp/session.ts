/**
 * Self-describing signed session ids, so any replica can serve any request of
 * a session without a shared store: the id carries what the session is (the
 * negotiated protocol version, the key that opened it, a digest of the
 * client's capabilities and info) and an HMAC-SHA256 over it with a secret
 * every replica shares. Ending a session (DELETE) is remembered only by the
 * replica that received it, until the session would have expired.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { silentLogger, type Logger } from "../../log.ts";

export interface SessionClaims {
  /** Negotiated protocol version. */
  readonly v: string;
  /** Key id that opened the session. */
  readonly k: string;
  /** Digest of client capabilities and info. */
  readonly c: string;
  /** Issued at, seconds since the epoch. */
  readonly t: number;
  /** Nonce. */
  readonly n: string;
  /** What the client may be asked: sampling, elicitation, roots (client-requests.ts letters). */
  readonly a?: string;
}

export interface SessionSignerOptions {
  readonly secret: string | Buffer;
  /** @default 604800 (7 days) */
  readonly maxAgeSeconds?: number;
  /** Verified ids remembered. @default 10000 */
  readonly cacheSize?: number;
  /**
   * Safety cap on remembered revocations. Memory is bounded by expiry (a
   * revocation is forgotten when its session would have expired anyway); the
   * cap only guards against a flood of DELETEs within one session lifetime.
   * @default 100000
   */
  readonly maxRevoked?: number;
  /** @default silent */
  readonly logger?: Logger;
}

/** Expired revocations are swept at most this often (a sweep walks them all). */
const SWEEP_INTERVAL_MS = 60_000;

const b64 = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export class SessionSigner {
  #secret: Buffer;
  #maxAge: number;
  /** Revoked nonce → when its session expires anyway (seconds since the epoch). */
  #revoked = new Map<string, number>();
  #revokedMax: number;
  #lastSweep = 0;
  #logger: Logger;
  /**
   * Ids already verified, newest last: a session sends many requests, and
   * HMAC + JSON.parse on each costs more than the rest of admission. Expiry
   * and revocation are still checked on every request.
   */
  #verified = new Map<string, SessionClaims>();
  #verifiedMax: number;

  constructor(options: SessionSignerOptions) {
    this.#secret = Buffer.from(options.secret);
    if (this.#secret.length < 16) throw new Error("session secret must hold at least 16 bytes");
    this.#maxAge = options.maxAgeSeconds ?? 7 * 24 * 3600;
    this.#verifiedMax = options.cacheSize ?? 10_000;
    this.#revokedMax = options.maxRevoked ?? 100_000;
    this.#logger = options.logger ?? silentLogger();
  }

  /** Revocations remembered (those of sessions not yet expired). */
  get revokedCount(): number {
    this.#sweep(true);
    return this.#revoked.size;
  }

  issue(input: { protocolVersion: string; keyId: string; client: unknown; abilities?: string }): {
    id: string;
    claims: SessionClaims;
  } {
    const claims: SessionClaims = {
      v: input.protocolVersion,
      k: input.keyId,
      c: createHash("sha256")
        .update(JSON.stringify(input.client ?? null))
        .digest("base64url")
        .slice(0, 16),
      t: Math.floor(Date.now() / 1000),
      n: randomBytes(12).toString("base64url"),
      ...(input.abilities ? { a: input.abilities } : {}),
    };
    const body = b64(JSON.stringify(claims));
    return { id: `${body}.${this.#sign(body)}`, claims };
  }

  #sign(body: string): string {
    return createHmac("sha256", this.#secret).update(body).digest("base64url");
  }

  /** The claims of a valid, unexpired, unrevoked id; undefined otherwise. */
  verify(id: string | undefined): SessionClaims | undefined {
    if (!id || id.length > 1024) return undefined;
    const known = this.#verified.get(id);
    if (known) {
      if (!this.#current(known)) {
        this.#verified.delete(id);
        return undefined;
      }
      // Most recently used last, so eviction drops the idle ones.
      this.#verified.delete(id);
      this.#verified.set(id, known);
      return known;
    }
    const claims = this.#check(id);
    if (!claims) return undefined;
    this.#verified.set(id, claims);
    if (this.#verified.size > this.#verifiedMax) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    return claims;
  }

  #current(claims: SessionClaims): boolean {
    return Date.now() / 1000 - claims.t <= this.#maxAge && !this.#revoked.has(claims.n);
  }

  #check(id: string): SessionClaims | undefined {
    const dot = id.indexOf(".");
    if (dot <= 0) return undefined;
    const body = id.slice(0, dot);
    const mac = Buffer.from(id.slice(dot + 1), "base64url");
    const expected = Buffer.from(this.#sign(body), "base64url");
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined;
    let claims: SessionClaims;
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as SessionClaims;
    } catch {
      return undefined;
    }
    if (typeof claims.t !== "number" || typeof claims.n !== "string" || !this.#current(claims))
      return undefined;
    return claims;
  }

  revoke(claims: SessionClaims): void {
    const expires = claims.t + this.#maxAge;
    if (expires <= Date.now() / 1000) return; // expired already: nothing to remember
    this.#revoked.set(claims.n, expires);
    this.#sweep(false);
    if (this.#revoked.size > this.#revokedMax) {
      this.#sweep(true);
      if (this.#revoked.size > this.#revokedMax) this.#evictSoonestExpiring();
    }
  }

  #sweep(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#lastSweep < SWEEP_INTERVAL_MS) return;
    this.#lastSweep = now;
    for (const [nonce, expires] of this.#revoked) if (expires <= now / 1000) this.#revoked.delete(nonce);
  }

  /** Over the cap with nothing expired: give up the revocation that matters the shortest. */
  #evictSoonestExpiring(): void {
    let soonest: string | undefined;
    let soonestAt = Infinity;
    for (const [nonce, expires] of this.#revoked) {
      if (expires < soonestAt) {
        soonest = nonce;
        soonestAt = expires;
      }
    }
    if (soonest === undefined) return;
    this.#revoked.delete(soonest);
    this.#logger.warn(
      { maxRevoked: this.#revokedMax, droppedExpiresAt: new Date(soonestAt * 1000).toISOString() },
      "session revocation cap reached: the revocation closest to expiry was dropped, that session is valid again on this replica",
    );
  }
}
