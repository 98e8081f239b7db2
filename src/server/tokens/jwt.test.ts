import crypto from "node:crypto";
import { SignJWT, decodeProtectedHeader, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { AccessTokenSigner } from "~/server/tokens/jwt";

// The kid the signer used before jose computed it: tokens already issued and resource servers'
// cached JWKS name keys by it, so it must never change.
function handWrittenThumbprint(jwk: JWK): string {
  const members = jwk.kty === "OKP" ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return crypto.createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}

// RFC 8037, appendix A.1 and A.3: an Ed25519 key and its RFC 7638 thumbprint.
const RFC8037_KEY: JWK = { kty: "OKP", crv: "Ed25519", d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" };
const RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

const ISSUER = "https://handoff.example";
const signer = (options: { signingKey?: JWK; previousKeys?: JWK[]; sessionSecret?: string }) =>
  new AccessTokenSigner({
    signingKey: options.signingKey && JSON.stringify(options.signingKey),
    previousKeys: options.previousKeys && JSON.stringify(options.previousKeys),
    sessionSecret: options.sessionSecret ?? "a-session-secret-of-at-least-32-characters",
    issuer: ISSUER,
    audience: `${ISSUER}/api`,
    accessTokenTtlMs: 15 * 60_000,
  });
const privateJwk = (type: "ed25519" | "ec") =>
  (type === "ec" ? crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }) : crypto.generateKeyPairSync("ed25519")).privateKey.export({
    format: "jwk",
  }) as JWK;
const publicOnly = ({ d: _d, ...jwk }: JWK) => jwk;

describe("access-token key ids", () => {
  it("a key without a kid is named by its RFC 7638 thumbprint (RFC 8037 test vector)", async () => {
    const jwt = signer({ signingKey: RFC8037_KEY });
    expect(await jwt.currentKid()).toBe(RFC8037_THUMBPRINT);
    expect(handWrittenThumbprint(RFC8037_KEY)).toBe(RFC8037_THUMBPRINT);
    const { token } = await jwt.sign({ userId: "u", sessionId: "s" });
    expect(decodeProtectedHeader(token).kid).toBe(RFC8037_THUMBPRINT);
  });

  it("kids are the ones the hand-written thumbprint gave: derived key, Ed25519 and P-256 keys, retired keys", async () => {
    const derived = signer({ sessionSecret: "another-session-secret-of-32-characters!" });
    const [derivedKey] = (await derived.jwks()).keys;
    expect(await derived.currentKid()).toBe(handWrittenThumbprint(derivedKey!));

    const ed = privateJwk("ed25519");
    const ec = privateJwk("ec");
    const rotated = signer({ signingKey: ec, previousKeys: [publicOnly(ed)] });
    expect((await rotated.jwks()).keys.map((k) => k.kid)).toEqual([handWrittenThumbprint(ec), handWrittenThumbprint(ed)]);
  });

  it("a configured kid is kept, and the same key listed twice is published once", async () => {
    const key = { ...privateJwk("ed25519"), kid: "2026-01" };
    const jwt = signer({ signingKey: key, previousKeys: [publicOnly(key)] });
    expect((await jwt.jwks()).keys).toEqual([{ ...publicOnly(key), kid: "2026-01", alg: "EdDSA", use: "sig" }]);
  });
});

describe("access-token verification", () => {
  const claims = (jwt: SignJWT) => jwt.setSubject("u").setJti("j").setIssuedAt().setExpirationTime("5m").setIssuer(ISSUER).setAudience(`${ISSUER}/api`);

  it("a token signed by a retired key verifies after rotation, by its thumbprint kid", async () => {
    const old = privateJwk("ed25519");
    const { token } = await signer({ signingKey: old }).sign({ userId: "u", sessionId: "s" });
    const rotated = signer({ signingKey: privateJwk("ec"), previousKeys: [publicOnly(old)] });
    expect(await rotated.verify(token)).toMatchObject({ sub: "u", sid: "s" });
    expect(await signer({ signingKey: privateJwk("ec") }).verify(token)).toBeNull();
  });

  it("the key's own algorithm only, and never a token without a kid, even when our key signed it", async () => {
    const key = privateJwk("ed25519");
    const jwt = signer({ signingKey: key });
    const kid = await jwt.currentKid();
    const signed = (header: { alg: string; kid?: string }) =>
      claims(new SignJWT({ sid: "s" }).setProtectedHeader({ ...header, typ: "at+jwt" })).sign(
        crypto.createPrivateKey({ key: key as crypto.JsonWebKey, format: "jwk" }),
      );
    expect(await jwt.verify(await signed({ alg: "EdDSA", kid }))).toMatchObject({ sub: "u", sid: "s" });
    expect(await jwt.verify(await signed({ alg: "EdDSA" }))).toBeNull();
    // jose also accepts "Ed25519" as the name of this algorithm; the key was configured as EdDSA.
    expect(await jwt.verify(await signed({ alg: "Ed25519", kid }))).toBeNull();
    expect(await jwt.verify(await signed({ alg: "EdDSA", kid: "someone-else" }))).toBeNull();
  });
});
