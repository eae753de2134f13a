/**
 * Sealed cookie values: JSON encrypted and authenticated with AES-256-GCM
 * under a key derived from the gateway's session secret, so every replica
 * that shares the secret can read a console session without shared state,
 * and the browser can neither read nor change it (the session holds the ID
 * token kept for the provider's logout). Synchronous on purpose: the admin
 * routes authenticate without awaiting.
 *
 * Format: base64url(iv) "." base64url(ciphertext ‖ tag). The cookie's purpose
 * is the additional data, so a value sealed for one cookie never opens as
 * another; `exp` (seconds) is checked on open.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Expiring {
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
}

export class Sealer {
  readonly #key: Buffer;

  constructor(secret: Buffer | string) {
    this.#key = createHmac("sha256", secret).update("shardgate console sealed cookie").digest();
  }

  seal(purpose: string, value: Expiring): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv).setAAD(Buffer.from(purpose));
    const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
    return `${iv.toString("base64url")}.${Buffer.concat([body, cipher.getAuthTag()]).toString("base64url")}`;
  }

  /** The value, or undefined when it was tampered with, sealed for another purpose or key, or expired. */
  open<T extends Expiring>(purpose: string, sealed: string, nowSeconds = Date.now() / 1000): T | undefined {
    const [ivText, bodyText, extra] = sealed.split(".");
    if (!ivText || !bodyText || extra !== undefined) return undefined;
    const iv = Buffer.from(ivText, "base64url");
    const body = Buffer.from(bodyText, "base64url");
    if (iv.length !== IV_BYTES || body.length <= TAG_BYTES) return undefined;
    let value: unknown;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, iv).setAAD(Buffer.from(purpose));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_BYTES)),
        decipher.final(),
      ]);
      value = JSON.parse(plain.toString("utf8"));
    } catch {
      return undefined;
    }
    const exp = (value as Partial<Expiring> | null)?.exp;
    return typeof exp === "number" && exp > nowSeconds ? (value as T) : undefined;
  }
}
