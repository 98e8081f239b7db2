import crypto from "node:crypto";

/** A random id or secret, base64url, from the CSPRNG. */
export function randomToken(bytes: number): string {
  return crypto.randomBytes(bytes).toString("base64url");
}

export function sha256(value: string): string {
  return crypto.createHash("sha256").update(value).digest("hex");
}

/** Tokens are "<id>.<secret>": the id names the record, only the secret's hash is stored. */
export function splitToken(token: string): { id: string; secret: string } | null {
  const match = /^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{32,128})$/.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

// Secrets the server must read back (a TOTP secret) are stored sealed: AES-256-GCM under a key
// derived (HKDF) from SESSION_SECRET for one purpose, with the record they belong to as associated
// data, so a sealed value copied onto another row does not open. "v1.<iv>.<ciphertext>.<tag>".
const derivedKeys = new Map<string, Buffer>();

function derivedKey(secret: string, info: string): Buffer {
  const id = `${info}\u0000${secret}`;
  let key = derivedKeys.get(id);
  if (!key) derivedKeys.set(id, (key = Buffer.from(crypto.hkdfSync("sha256", secret, "handoff", info, 32))));
  return key;
}

const sealingKey = (secret: string, purpose: string) => derivedKey(secret, `seal:${purpose}`);

/**
 * HMAC-SHA256 under a key derived from SESSION_SECRET for one purpose: for short codes stored to be
 * compared, never read back (recovery codes), so a database dump without the secret cannot be
 * searched for them, however few bits a code has.
 */
export function keyedHash(value: string, options: { secret: string; purpose: string }): string {
  return crypto
    .createHmac("sha256", derivedKey(options.secret, `hmac:${options.purpose}`))
    .update(value)
    .digest("hex");
}

export function seal(plain: string, options: { secret: string; purpose: string; boundTo: string }): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", sealingKey(options.secret, options.purpose), iv);
  cipher.setAAD(Buffer.from(options.boundTo));
  const sealed = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return ["v1", iv.toString("base64url"), sealed.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(".");
}

/** The plain text, or null when the value was not sealed under this secret, purpose and record. */
export function unseal(value: string, options: { secret: string; purpose: string; boundTo: string }): string | null {
  const [version, iv, sealed, tag] = value.split(".");
  if (version !== "v1" || !iv || sealed === undefined || !tag) return null;
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", sealingKey(options.secret, options.purpose), Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(options.boundTo));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(sealed, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}
