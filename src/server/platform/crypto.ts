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
