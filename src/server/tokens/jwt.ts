import crypto, { type KeyObject } from "node:crypto";
import { SignJWT, calculateJwkThumbprint, createLocalJWKSet, jwtVerify, type JWK, type JWTVerifyGetKey } from "jose";
import { randomToken } from "~/server/platform/crypto";

// Access tokens are JWTs signed with EdDSA (Ed25519) or ES256 (P-256). The signing key comes from
// JWT_SIGNING_KEY (a private JWK); without one, an Ed25519 key is derived from SESSION_SECRET, so
// every instance of one deployment signs with the same key and nothing else needs configuring.
// Retired keys (JWT_PREVIOUS_KEYS) still verify and stay in the JWKS until they are removed.

const ACCESS_TOKEN_ALGORITHMS = ["EdDSA", "ES256"] as const;
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

/** A configured key, checked and reduced to its public members; its kid may still be missing. */
interface PublicKeyEntry {
  kid: string | undefined;
  alg: Algorithm;
  publicJwk: JWK;
}

/** The keys with their kids settled: what the JWKS publishes and the verifier selects from. */
interface Keyring {
  currentKid: string;
  jwks: { keys: JWK[] };
  keyByKid: JWTVerifyGetKey;
}

class JwtConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JwtConfigError";
  }
}

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function algorithmOf(jwk: JWK, name: string): Algorithm {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  throw new JwtConfigError(`${name} must be an Ed25519 (kty OKP) or P-256 (kty EC) JWK`);
}

function publicMembers(jwk: JWK): JWK {
  return jwk.kty === "OKP" ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/** Checked here, synchronously, so a bad key stops the server at start (see platform/startup-check.ts). */
function publicKeyEntry(jwk: JWK, name: string): PublicKeyEntry {
  const alg = algorithmOf(jwk, name);
  const publicJwk = publicMembers(jwk);
  try {
    crypto.createPublicKey({ key: publicJwk as crypto.JsonWebKey, format: "jwk" });
  } catch {
    throw new JwtConfigError(`${name} is not a valid ${alg} key`);
  }
  return { kid: typeof jwk.kid === "string" && jwk.kid ? jwk.kid : undefined, alg, publicJwk };
}

// A key without a kid is named by its RFC 7638 thumbprint, so every instance names it alike.
// jose computes it asynchronously (WebCrypto), hence the keyring is built on first use.
async function buildKeyring(signing: PublicKeyEntry, previous: PublicKeyEntry[]): Promise<Keyring> {
  const byKid = new Map<string, JWK>();
  for (const entry of [signing, ...previous]) {
    const kid = entry.kid ?? (await calculateJwkThumbprint(entry.publicJwk, "sha256"));
    if (!byKid.has(kid)) byKid.set(kid, { ...entry.publicJwk, kid, alg: entry.alg, use: "sig" });
  }
  const jwks = { keys: [...byKid.values()] };
  // Each JWK carries its "alg", and jose's local JWKS only hands out a key whose alg equals the
  // token header's: a token is verified with the algorithm its key was configured for, never one
  // the token chooses. A token without a kid matches no key (rather than any key of its alg).
  const localSet = createLocalJWKSet(jwks);
  const keyByKid: JWTVerifyGetKey = (header, token) => {
    if (typeof header.kid !== "string") throw new Error("access token without a kid");
    return localSet(header, token);
  };
  return { currentKid: jwks.keys[0]!.kid!, jwks, keyByKid };
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
  private readonly signing: PublicKeyEntry;
  private readonly previous: PublicKeyEntry[] = [];
  private keyringPromise: Promise<Keyring> | undefined;
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
    this.signing = publicKeyEntry(privateJwk, "JWT_SIGNING_KEY");
    if (options.previousKeys) {
      const parsed = parseJson(options.previousKeys, "JWT_PREVIOUS_KEYS");
      const list = Array.isArray(parsed)
        ? parsed
        : parsed && typeof parsed === "object" && Array.isArray((parsed as { keys?: unknown }).keys)
          ? (parsed as { keys: unknown[] }).keys
          : null;
      if (!list) throw new JwtConfigError("JWT_PREVIOUS_KEYS must be a JSON array of JWKs (or a JWKS)");
      for (const jwk of list) this.previous.push(publicKeyEntry(jwk as JWK, "JWT_PREVIOUS_KEYS"));
    }
  }

  private keyring(): Promise<Keyring> {
    return (this.keyringPromise ??= buildKeyring(this.signing, this.previous));
  }

  /** The public keys (current first, then retired ones), for /.well-known/jwks.json. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return structuredClone((await this.keyring()).jwks);
  }

  async currentKid(): Promise<string> {
    return (await this.keyring()).currentKid;
  }

  async sign(input: { userId: string; sessionId: string }): Promise<{ token: string; claims: AccessTokenClaims }> {
    const { currentKid } = await this.keyring();
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
      .setProtectedHeader({ alg: this.signing.alg, kid: currentKid, typ: "at+jwt" })
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
      const { keyByKid } = await this.keyring();
      const { payload } = await jwtVerify(token, keyByKid, {
        algorithms: [...ACCESS_TOKEN_ALGORITHMS],
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
