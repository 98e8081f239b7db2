import crypto, { type KeyObject } from "node:crypto";
import { SignJWT, decodeProtectedHeader, jwtVerify, type JWK } from "jose";
import { randomToken } from "./tokens";

// Access tokens are JWTs signed with EdDSA (Ed25519) or ES256 (P-256). The signing key comes from
// JWT_SIGNING_KEY (a private JWK); without one, an Ed25519 key is derived from SESSION_SECRET, so
// every instance of one deployment signs with the same key and nothing else needs configuring.
// Retired keys (JWT_PREVIOUS_KEYS) still verify and stay in the JWKS until they are removed.

export const ACCESS_TOKEN_ALGORITHMS = ["EdDSA", "ES256"] as const;
type Algorithm = (typeof ACCESS_TOKEN_ALGORITHMS)[number];

/** Longer than any token we issue; anything bigger is rejected before it is parsed. */
const MAX_TOKEN_LENGTH = 2048;

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

interface VerificationKey {
  kid: string;
  alg: Algorithm;
  key: KeyObject;
  publicJwk: JWK;
}

export class JwtConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JwtConfigError";
  }
}

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** RFC 7638 thumbprint: a stable kid for a key that has none. */
function thumbprint(jwk: JWK): string {
  const members = jwk.kty === "OKP" ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return crypto.createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}

function algorithmOf(jwk: JWK, name: string): Algorithm {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  throw new JwtConfigError(`${name} must be an Ed25519 (kty OKP) or P-256 (kty EC) JWK`);
}

function publicPart(jwk: JWK, kid: string, alg: Algorithm): JWK {
  const base = jwk.kty === "OKP" ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  return { ...base, kid, alg, use: "sig" };
}

function verificationKey(jwk: JWK, name: string): VerificationKey {
  const alg = algorithmOf(jwk, name);
  let key: KeyObject;
  try {
    key = crypto.createPublicKey({ key: publicPart(jwk, "", alg) as crypto.JsonWebKey, format: "jwk" });
  } catch {
    throw new JwtConfigError(`${name} is not a valid ${alg} key`);
  }
  const kid = typeof jwk.kid === "string" && jwk.kid ? jwk.kid : thumbprint(jwk);
  return { kid, alg, key, publicJwk: publicPart(jwk, kid, alg) };
}

function parseJson(value: string, name: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new JwtConfigError(`${name} must be JSON (a JWK)`);
  }
}

export interface JwtOptions {
  signingKey?: string;
  previousKeys?: string;
  sessionSecret: string;
  issuer: string;
  audience: string;
  accessTokenTtlMs: number;
  now?: () => number;
}

export class AccessTokenSigner {
  private readonly signingKey: KeyObject;
  private readonly signing: VerificationKey;
  private readonly keys = new Map<string, VerificationKey>();
  private readonly now: () => number;

  constructor(private readonly options: JwtOptions) {
    this.now = options.now ?? Date.now;
    let privateJwk: JWK;
    if (options.signingKey) {
      privateJwk = parseJson(options.signingKey, "JWT_SIGNING_KEY") as JWK;
      if (!privateJwk || typeof privateJwk !== "object" || typeof privateJwk.d !== "string")
        throw new JwtConfigError("JWT_SIGNING_KEY must be a private JWK (with d)");
      algorithmOf(privateJwk, "JWT_SIGNING_KEY");
      try {
        this.signingKey = crypto.createPrivateKey({ key: privateJwk as crypto.JsonWebKey, format: "jwk" });
      } catch {
        throw new JwtConfigError("JWT_SIGNING_KEY is not a valid private key");
      }
    } else {
      const seed = Buffer.from(crypto.hkdfSync("sha256", options.sessionSecret, "handoff", "access-token signing key", 32));
      this.signingKey = crypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
      privateJwk = this.signingKey.export({ format: "jwk" }) as JWK;
    }
    this.signing = verificationKey(privateJwk, "JWT_SIGNING_KEY");
    this.keys.set(this.signing.kid, this.signing);
    if (options.previousKeys) {
      const parsed = parseJson(options.previousKeys, "JWT_PREVIOUS_KEYS");
      const list = Array.isArray(parsed)
        ? parsed
        : parsed && typeof parsed === "object" && Array.isArray((parsed as { keys?: unknown }).keys)
          ? (parsed as { keys: unknown[] }).keys
          : null;
      if (!list) throw new JwtConfigError("JWT_PREVIOUS_KEYS must be a JSON array of JWKs (or a JWKS)");
      for (const jwk of list) {
        const key = verificationKey(jwk as JWK, "JWT_PREVIOUS_KEYS");
        if (!this.keys.has(key.kid)) this.keys.set(key.kid, key);
      }
    }
  }

  /** The public keys, for /.well-known/jwks.json. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values()].map((k) => k.publicJwk) };
  }

  get currentKid(): string {
    return this.signing.kid;
  }

  async sign(input: { userId: string; sessionId: string }): Promise<{ token: string; claims: AccessTokenClaims }> {
    const iat = Math.floor(this.now() / 1000);
    const claims: AccessTokenClaims = {
      sub: input.userId,
      sid: input.sessionId,
      jti: randomToken(16),
      iat,
      exp: iat + Math.round(this.options.accessTokenTtlMs / 1000),
      iss: this.options.issuer,
      aud: this.options.audience,
    };
    const token = await new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: this.signing.alg, kid: this.signing.kid, typ: "at+jwt" })
      .setSubject(claims.sub)
      .setJti(claims.jti)
      .setIssuedAt(claims.iat)
      .setExpirationTime(claims.exp)
      .setIssuer(claims.iss)
      .setAudience(claims.aud)
      .sign(this.signingKey);
    return { token, claims };
  }

  /**
   * The token's claims when its signature (by a key we know, with that key's algorithm), issuer,
   * audience and expiry check out; null for anything else. Never throws on bad input.
   */
  async verify(token: string): Promise<AccessTokenClaims | null> {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    try {
      const header = decodeProtectedHeader(token);
      const key = typeof header.kid === "string" ? this.keys.get(header.kid) : undefined;
      if (!key || header.alg !== key.alg) return null;
      const { payload } = await jwtVerify(token, key.key, {
        algorithms: [key.alg],
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: "at+jwt",
        currentDate: new Date(this.now()),
        requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
      });
      if (typeof payload.sid !== "string" || typeof payload.sub !== "string" || typeof payload.jti !== "string") return null;
      return payload as unknown as AccessTokenClaims;
    } catch {
      return null;
    }
  }
}
