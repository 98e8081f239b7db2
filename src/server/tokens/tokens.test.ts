import crypto from "node:crypto";
import { SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealSessionCookie } from "~/server/platform/cookies";
import { createServices } from "~/server/services";
import { deniedAccessTokenKey, sessionKey } from "~/server/sessions/store";
import { FIREFOX_LINUX, LONDON, PASSWORD, SYDNEY } from "~/test/fixtures";
import { APP_URL, clearOfMinuteBoundary, createTestServices, TestBrowser, testEnv, uniqueEmail } from "~/test/harness";
import type { RouterOutputs } from "~/trpc/types";

type Issued = Extract<RouterOutputs["tokens"]["issue"], { status: "issued" }>;
type Approval = Extract<RouterOutputs["tokens"]["issue"], { status: "approval_required" }>;
type Pair = RouterOutputs["tokens"]["refresh"];

const CLI = "handoff-cli/1.0 (linux; node 20)";

/** A token client: no cookies kept, no Origin, Authorization when it has an access token. */
class TokenClient extends TestBrowser {
  useAccessToken(token: string | null) {
    if (token === null) delete this.headers.authorization;
    else this.headers.authorization = `Bearer ${token}`;
    return this;
  }
  override cookieHeader() {
    return "";
  }
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

function ed25519Jwk(kid: string): JWK {
  const { privateKey } = crypto.generateKeyPairSync("ed25519");
  return { ...(privateKey.export({ format: "jwk" }) as JWK), kid };
}
const publicOnly = ({ d: _d, ...jwk }: JWK) => jwk;

describe("bearer tokens (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const tokenClient = (ip = SYDNEY) => new TokenClient(t.services, { origin: null, userAgent: CLI, headers: { "x-forwarded-for": ip } });
  const browser = (ip = LONDON) => new TestBrowser(t.services, { headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({ TRUST_PROXY: "true", SESSION_LIMIT: "0" });
  });
  afterAll(() => t.close());

  async function account() {
    const email = uniqueEmail();
    const laptop = browser();
    expect((await laptop.mutation("auth.register", { email, password: PASSWORD })).status).toBe(200);
    return { email, laptop };
  }

  async function issue(email: string, client = tokenClient(), deviceName = "Build server") {
    const res = await client.mutation<RouterOutputs["tokens"]["issue"]>("tokens.issue", { email, password: PASSWORD, deviceName });
    expect(res.status, JSON.stringify(res.error)).toBe(200);
    expect(res.data!.status).toBe("issued");
    return { client, issued: res.data as Issued };
  }

  const me = (client: TokenClient, accessToken: string) => client.useAccessToken(accessToken).query<RouterOutputs["auth"]["me"]>("auth.me");
  const refresh = (client: TokenClient, refreshToken: string) => client.useAccessToken(null).mutation<Pair>("tokens.refresh", { refreshToken });

  it("issues a JWT access token (EdDSA, kid, 15 min, sub/sid/jti/iat/exp/iss/aud) and a 256-bit refresh token tied to a token session", async () => {
    const { email, laptop } = await account();
    const { client, issued } = await issue(email);
    const header = decodeProtectedHeader(issued.accessToken);
    expect(header).toMatchObject({ alg: "EdDSA", typ: "at+jwt", kid: await t.services.jwt.currentKid() });
    const claims = decodeJwt(issued.accessToken);
    expect(claims).toMatchObject({ sid: issued.sessionId, iss: APP_URL, aud: `${APP_URL}/api` });
    expect(Object.keys(claims).sort()).toEqual(["aud", "exp", "iat", "iss", "jti", "sid", "sub"]);
    expect(claims.exp! - claims.iat!).toBe(15 * 60);
    expect(issued.accessTokenExpiresAt.getTime()).toBe(claims.exp! * 1000);
    const [, secret] = issued.refreshToken.split(".");
    expect(Buffer.from(secret!, "base64url").length).toBeGreaterThanOrEqual(32);
    expect(issued.refreshTokenExpiresAt.getTime() - Date.now()).toBeGreaterThan(7 * 86_400_000 - 60_000);
    // Only the refresh token's hash is in Redis.
    const stored = await t.services.redis.redis.hgetall<Record<string, string>>(sessionKey(t.services.redis.prefix, issued.sessionId));
    expect(JSON.stringify(stored)).not.toContain(secret);

    // The JWKS verifies it.
    const jwks = await t.services.jwt.jwks();
    expect(jwks.keys[0]).not.toHaveProperty("d");
    await expect(jwtVerify(issued.accessToken, createLocalJWKSet(jwks))).resolves.toBeTruthy();

    const who = await me(client, issued.accessToken);
    expect(who.status).toBe(200);
    expect(who.data).toMatchObject({ user: { email }, session: { id: issued.sessionId, method: "token" } });

    // The user sees it as a device session of method "token" with the name the client gave.
    const listed = (await laptop.query<RouterOutputs["sessions"]["list"]>("sessions.list")).data!;
    expect(listed.find((s) => s.id === issued.sessionId)).toMatchObject({ method: "token", ip: SYDNEY, device: { name: "Build server" } });
    const history = (await laptop.query<RouterOutputs["sessions"]["history"]>("sessions.history")).data!;
    expect(history.items[0]).toMatchObject({ method: "token", outcome: "success" });
  });

  it("bearer calls need no Origin; their cookies are ignored; a cookie call still needs Origin", async () => {
    const { email, laptop } = await account();
    const { client, issued } = await issue(email);
    client.useAccessToken(issued.accessToken);
    // A mutation with the bearer token and no Origin works.
    expect(
      (await client.mutation("devices.rename", { deviceId: (await client.query<{ id: string }>("devices.current")).data!.id, name: "CI runner" })).status,
    ).toBe(200);
    // The browser's cookie with a bearer header that is not valid: not signed in (the cookie is not used).
    const mixed = new TestBrowser(t.services, { origin: null });
    mixed.cookies = laptop.cookies;
    mixed.headers.authorization = "Bearer not-a-token";
    expect((await mixed.query("auth.me")).status).toBe(401);
    const forged = new TestBrowser(t.services, { origin: "https://evil.example" });
    forged.cookies = laptop.cookies;
    expect((await forged.mutation("sessions.revokeOthers")).error?.data.code).toBe("FORBIDDEN");
    // Other schemes are not bearer tokens: a Basic header with a cookie is a cookie call.
    const basic = new TestBrowser(t.services, { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    basic.cookies = laptop.cookies;
    expect((await basic.query("auth.me")).status).toBe(200);
  });

  it("refresh rotates: the new pair works, the old refresh token stops working at once", async () => {
    const { email } = await account();
    const { client, issued } = await issue(email);
    const first = await refresh(client, issued.refreshToken);
    expect(first.status).toBe(200);
    expect(first.data!.refreshToken).not.toBe(issued.refreshToken);
    expect(first.data!.sessionId).toBe(issued.sessionId);
    expect((await me(client, first.data!.accessToken)).status).toBe(200);
    const second = await refresh(client, first.data!.refreshToken);
    expect(second.status).toBe(200);
    expect((await me(client, second.data!.accessToken)).status).toBe(200);
    expect((await refresh(client, "garbage")).error?.data.code).toBe("UNAUTHORIZED");
  });

  it("reusing a rotated refresh token is theft: the whole session ends, an event and an alert are recorded", async () => {
    const { email, laptop } = await account();
    const { client, issued } = await issue(email);
    const feed = (await (await laptop.caller()).sessions.onEvent())[Symbol.asyncIterator]();
    // A feed starts when it is first read, as an SSE stream does when it opens.
    const nextEvent = async () => {
      const { value } = await feed.next();
      return (Array.isArray(value) ? value[1] : value) as { type: string; sessionIds?: string[]; reason?: string };
    };
    const firstEvent = nextEvent();
    await new Promise((r) => setTimeout(r, 100));
    const rotated = (await refresh(client, issued.refreshToken)).data!;
    const stolen = await refresh(tokenClient("6.6.6.6"), issued.refreshToken);
    expect(stolen.status).toBe(401);
    expect(stolen.error?.message).toMatch(/Sign in again/);
    // Every token of that session is dead on its very next use, including the legitimate new pair.
    expect((await me(client, rotated.accessToken)).status).toBe(401);
    expect((await refresh(client, rotated.refreshToken)).status).toBe(401);
    const listed = (await laptop.query<RouterOutputs["sessions"]["list"]>("sessions.list")).data!;
    expect(listed.map((s) => s.id)).not.toContain(issued.sessionId);
    const events = await t.services.db.securityEvent.findMany({ where: { sessionId: issued.sessionId, type: "refresh_token_reused" } });
    expect(events).toHaveLength(1);
    expect(events[0]!.ip).toBe("6.6.6.6");
    // The user's open pages are told (live).
    let event = await firstEvent;
    while (event.type !== "revoked") event = await nextEvent();
    expect(event).toMatchObject({ type: "revoked", sessionIds: [issued.sessionId], reason: "token_reuse" });
    await feed.return?.();
  });

  it("20 concurrent refreshes with one token: exactly one gets a new pair, the rest are UNAUTHORIZED", async () => {
    const { email } = await account();
    const { client, issued } = await issue(email);
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(tokenClient(), issued.refreshToken)));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(19);
    // The losers presented a token that had just been rotated: that is reuse, so the session ended.
    expect((await me(client, winners[0]!.data!.accessToken)).status).toBe(401);
    expect(await t.services.db.securityEvent.count({ where: { sessionId: issued.sessionId, type: "refresh_token_reused" } })).toBeGreaterThanOrEqual(1);
  });

  it("revocation anywhere is visible on the token's very next call: revoke, revoke-others, lockout, forget device", async () => {
    const { email, laptop } = await account();
    const a = await issue(email);
    expect((await laptop.mutation("sessions.revoke", { sessionId: a.issued.sessionId })).status).toBe(200);
    expect((await me(a.client, a.issued.accessToken)).status).toBe(401);
    expect((await refresh(a.client, a.issued.refreshToken)).status).toBe(401);

    const b = await issue(email);
    expect((await laptop.mutation<{ count: number }>("sessions.revokeOthers")).data!.count).toBeGreaterThanOrEqual(1);
    expect((await me(b.client, b.issued.accessToken)).status).toBe(401);

    const c = await issue(email);
    const device = (await c.client.useAccessToken(c.issued.accessToken).query<{ id: string }>("devices.current")).data!;
    expect((await laptop.mutation("devices.forget", { deviceId: device.id })).status).toBe(200);
    expect((await me(c.client, c.issued.accessToken)).status).toBe(401);

    const d = await issue(email);
    expect((await laptop.mutation("sessions.lockout", { password: PASSWORD })).status).toBe(200);
    expect((await me(d.client, d.issued.accessToken)).status).toBe(401);
    expect((await refresh(d.client, d.issued.refreshToken)).status).toBe(401);
  });

  it("a browser signing out ends only its own session; auth.logout and tokens.revoke with a bearer token end the token's", async () => {
    const { email, laptop } = await account();
    const a = await issue(email);
    expect((await laptop.mutation("auth.logout")).status).toBe(200);
    expect((await me(a.client, a.issued.accessToken)).status).toBe(200);

    expect((await a.client.useAccessToken(a.issued.accessToken).mutation("tokens.revoke")).data).toEqual({ ok: true, scope: "session" });
    expect((await me(a.client, a.issued.accessToken)).status).toBe(401);
    expect((await refresh(a.client, a.issued.refreshToken)).status).toBe(401);

    const b = await issue(email);
    expect((await b.client.useAccessToken(b.issued.accessToken).mutation("auth.logout")).status).toBe(200);
    expect((await me(b.client, b.issued.accessToken)).status).toBe(401);

    // A cookie session cannot call tokens.revoke.
    const other = browser();
    await other.mutation("auth.login", { email, password: PASSWORD });
    expect((await other.mutation("tokens.revoke")).error?.data.code).toBe("BAD_REQUEST");
  });

  it("tokens.revoke({ scope: 'token' }) denies that one access token until it expires; the session and its next tokens live on", async () => {
    const { email } = await account();
    const { client, issued } = await issue(email);
    expect((await client.useAccessToken(issued.accessToken).mutation("tokens.revoke", { scope: "token" })).data).toEqual({ ok: true, scope: "token" });
    expect((await me(client, issued.accessToken)).status).toBe(401);
    const { sid, jti } = decodeJwt(issued.accessToken) as { sid: string; jti: string };
    const key = deniedAccessTokenKey(t.services.redis.prefix, sid, jti);
    const ttl = await t.services.redis.redis.pttl(key);
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);
    const next = (await refresh(client, issued.refreshToken)).data!;
    expect((await me(client, next.accessToken)).status).toBe(200);
  });

  it("expiry follows the clock: the access token after 15 min, the refresh token after 7 days unused", async () => {
    const { email } = await account();
    const { client, issued } = await issue(email);
    const start = Date.now();
    try {
      t.clock.now = start + 15 * 60_000 - 5_000;
      expect((await me(client, issued.accessToken)).status).toBe(200);
      t.clock.now = start + 15 * 60_000 + 1_000;
      expect((await me(client, issued.accessToken)).status).toBe(401);
      const renewed = await refresh(client, issued.refreshToken);
      expect(renewed.status).toBe(200);
      expect(renewed.data!.refreshTokenExpiresAt.getTime()).toBe(t.clock.now + 7 * 86_400_000);
      t.clock.now = t.clock.now + 7 * 86_400_000 + 1_000;
      expect((await refresh(client, renewed.data!.refreshToken)).status).toBe(401);
    } finally {
      t.clock.now = undefined;
    }
  });

  it("forged tokens are rejected: alg none, wrong key, HS256 with the public key, wrong aud/iss, tampered claims, expired", async () => {
    const { email } = await account();
    const { client, issued } = await issue(email);
    const claims = decodeJwt(issued.accessToken);
    const kid = await t.services.jwt.currentKid();
    const [h, p, s] = issued.accessToken.split(".");
    const attacker = ed25519Jwk(kid);
    const sign = (payload: object, header: object = { alg: "EdDSA", kid, typ: "at+jwt" }, key: JWK | Uint8Array = attacker) =>
      new SignJWT(payload as never).setProtectedHeader(header as never).sign(key as never);
    const publicJwk = (await t.services.jwt.jwks()).keys[0]!;
    const forged = [
      `${b64({ alg: "none", kid, typ: "at+jwt" })}.${p}.`,
      `${b64({ alg: "none" })}.${p}.${s}`,
      await sign(claims),
      await sign(claims, { alg: "HS256", kid, typ: "at+jwt" }, new TextEncoder().encode(JSON.stringify(publicJwk))),
      `${h}.${b64({ ...claims, sub: crypto.randomUUID() })}.${s}`,
      `${h}.${b64({ ...claims, exp: claims.exp! + 86_400 })}.${s}`,
      `${b64({ alg: "EdDSA", kid: "unknown", typ: "at+jwt" })}.${p}.${s}`,
      `${b64({ alg: "ES256", kid, typ: "at+jwt" })}.${p}.${s}`,
    ];
    for (const token of forged) expect((await me(client, token)).status, token).toBe(401);

    // Correctly signed (our own signer) but for another audience or issuer, or already expired.
    for (const [name, value] of [
      ["aud", "https://other.example/api"],
      ["iss", "https://other.example"],
      ["exp", Math.floor(Date.now() / 1000) - 1],
    ] as const) {
      const env = testEnv({ REDIS_PREFIX: t.env.REDIS_PREFIX, SESSION_SECRET: t.env.SESSION_SECRET });
      const other = createServices(t.services.db, t.services.redis, { ...env, APP_URL: name === "exp" ? APP_URL : "https://other.example" });
      let token = (await other.jwt.sign({ userId: String(claims.sub), sessionId: issued.sessionId })).token;
      if (name === "exp") {
        const expired = createServices(t.services.db, t.services.redis, env, () => Date.now() - 16 * 60_000);
        token = (await expired.jwt.sign({ userId: String(claims.sub), sessionId: issued.sessionId })).token;
      }
      expect((await me(client, token)).status, `${name}=${value}`).toBe(401);
    }
    expect((await me(client, issued.accessToken)).status).toBe(200);
  });

  it("malformed and huge Authorization headers are a typed 401, never a 500", async () => {
    const { email } = await account();
    const { client } = await issue(email);
    const values = [
      "Bearer",
      "Bearer ",
      "bearer a.b.c",
      "Bearer a.b",
      "Bearer ....",
      `Bearer ${"a".repeat(100_000)}`,
      `Bearer ${b64({ alg: "EdDSA", kid: "x".repeat(50_000) })}.e30.sig`,
      `Bearer ${"e30."}${"A".repeat(3000)}.x`,
      "Bearer \u00ff\u00fe",
      "Bearer a b c",
      `Bearer ${b64({ alg: "EdDSA" })}.${b64([1, 2, 3])}.AAAA`,
    ];
    for (const value of values) {
      const res = await client.raw("auth.me", { method: "GET", headers: { authorization: value } });
      expect(res.status, value.slice(0, 40)).toBe(401);
      const body = (await res.json()) as { error: { json: { data: { code: string } } } };
      expect(body.error.json.data.code).toBe("UNAUTHORIZED");
    }
  });

  it("a refresh token is not a cookie session, and a cookie session's token is not a refresh token", async () => {
    const { email, laptop } = await account();
    const { issued } = await issue(email);
    const config = t.services.config;
    const sealed = await sealSessionCookie(issued.refreshToken, { secure: false, secret: config.sessionSecret, sessionMaxAgeSeconds: 60 });
    const impostor = new TestBrowser(t.services);
    impostor.cookies.set("handoff_session", decodeURIComponent(sealed.split(";")[0]!.split("=")[1]!));
    expect((await impostor.query("auth.me")).status).toBe(401);
    // The browser's own session token, unsealed, as a refresh token.
    const session = (await laptop.query<RouterOutputs["auth"]["me"]>("auth.me")).data!.session;
    expect((await refresh(tokenClient(), `${session.id}.${"A".repeat(43)}`)).status).toBe(401);
  });

  it("key rotation: tokens signed with the previous key verify until it is retired; the JWKS lists both", async () => {
    const { email } = await account();
    const oldKey = ed25519Jwk("2026-01");
    const newKey = ed25519Jwk("2026-11");
    const base = { REDIS_PREFIX: t.env.REDIS_PREFIX, SESSION_SECRET: t.env.SESSION_SECRET, TRUST_PROXY: "true", SESSION_LIMIT: "0" };
    const before = createServices(t.services.db, t.services.redis, testEnv({ ...base, JWT_SIGNING_KEY: JSON.stringify(oldKey) }));
    const during = createServices(
      t.services.db,
      t.services.redis,
      testEnv({ ...base, JWT_SIGNING_KEY: JSON.stringify(newKey), JWT_PREVIOUS_KEYS: JSON.stringify([publicOnly(oldKey)]) }),
    );
    const after = createServices(t.services.db, t.services.redis, testEnv({ ...base, JWT_SIGNING_KEY: JSON.stringify(newKey) }));
    const client = (s: typeof before) => new TokenClient(s, { origin: null, userAgent: CLI });

    const issued = (await client(before).mutation<Issued>("tokens.issue", { email, password: PASSWORD, deviceName: "Old app" })).data!;
    expect(decodeProtectedHeader(issued.accessToken).kid).toBe("2026-01");
    expect((await me(client(during), issued.accessToken)).status).toBe(200);
    expect((await during.jwt.jwks()).keys.map((k) => k.kid)).toEqual(["2026-11", "2026-01"]);
    const renewed = (await refresh(client(during), issued.refreshToken)).data!;
    expect(decodeProtectedHeader(renewed.accessToken).kid).toBe("2026-11");
    expect((await me(client(after), issued.accessToken)).status).toBe(401);
    expect((await me(client(after), renewed.accessToken)).status).toBe(200);
  });

  it("a bad signing key is refused at start with a clear message", async () => {
    const make = (vars: Record<string, string>) => () => createServices(t.services.db, t.services.redis, testEnv(vars));
    expect(make({ JWT_SIGNING_KEY: "{not json" })).toThrow(/JWT_SIGNING_KEY must be JSON/);
    expect(make({ JWT_SIGNING_KEY: JSON.stringify(publicOnly(ed25519Jwk("x"))) })).toThrow(/private JWK/);
    const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
    expect(make({ JWT_SIGNING_KEY: JSON.stringify(rsa) })).toThrow(/Ed25519.*P-256/);
    expect(make({ JWT_PREVIOUS_KEYS: "{}" })).toThrow(/JWT_PREVIOUS_KEYS/);
    // A P-256 key signs ES256.
    const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
    const services = make({ JWT_SIGNING_KEY: JSON.stringify({ ...ec, kid: "ec-1" }) })();
    expect((await services.jwt.jwks()).keys[0]).toMatchObject({ kid: "ec-1", alg: "ES256", kty: "EC" });
  });

  it("tokens.issueFromSession: a signed-in browser mints tokens for a companion app (its own device and session)", async () => {
    const { laptop } = await account();
    const res = await laptop.mutation<RouterOutputs["tokens"]["issueFromSession"]>("tokens.issueFromSession", { deviceName: "My phone app" });
    expect(res.status).toBe(200);
    const client = tokenClient();
    expect((await me(client, res.data!.accessToken)).data).toMatchObject({ session: { method: "token" } });
    const listed = (await laptop.query<RouterOutputs["sessions"]["list"]>("sessions.list")).data!;
    expect(listed.find((s) => s.id === res.data!.sessionId)).toMatchObject({ method: "token", device: { name: "My phone app" } });
    expect((await new TestBrowser(t.services).mutation("tokens.issueFromSession", { deviceName: "x" })).status).toBe(401);
  });

  it("wrong password: the same UNAUTHORIZED as a browser sign-in, logged with method token", async () => {
    const { email, laptop } = await account();
    const res = await tokenClient().mutation("tokens.issue", { email, password: "wrong password", deviceName: "CLI" });
    expect(res.error).toMatchObject({ message: "Invalid email or password", data: { code: "UNAUTHORIZED" } });
    const history = (await laptop.query<RouterOutputs["sessions"]["history"]>("sessions.history")).data!;
    expect(history.items[0]).toMatchObject({ method: "token", outcome: "failure", reason: "wrong_password" });
  });
});

describe("bearer tokens under the sign-in rules: approval, cap, rate limit", () => {
  it("a new token client while signed in elsewhere needs approval (same shape as auth.login); its deviceKey makes it known next time", async () => {
    const t = await createTestServices({ NEW_DEVICE_APPROVAL: "true", SESSION_LIMIT: "0" });
    try {
      const email = uniqueEmail();
      const laptop = new TestBrowser(t.services);
      await laptop.mutation("auth.register", { email, password: PASSWORD });
      const cli = new TokenClient(t.services, { origin: null, userAgent: CLI });
      const asked = await cli.mutation<RouterOutputs["tokens"]["issue"]>("tokens.issue", { email, password: PASSWORD, deviceName: "Deploy bot" });
      const approval = asked.data as Approval;
      expect(approval).toMatchObject({
        status: "approval_required",
        requestId: expect.any(String),
        code: expect.stringMatching(/^\d{6}$/),
        expiresAt: expect.any(Date),
      });
      expect(approval.approvalSecret).toBeTruthy();
      const { requestId, approvalSecret, deviceKey } = approval;

      expect((await cli.mutation("tokens.complete", { requestId, approvalSecret, deviceName: "Deploy bot", deviceKey })).data).toEqual({
        status: "approval_pending",
        requestId,
      });
      expect((await cli.mutation("tokens.complete", { requestId, approvalSecret: "wrong", deviceName: "Deploy bot", deviceKey })).status).toBe(400);
      expect((await laptop.mutation("approvals.confirm", { requestId, code: approval.code })).status).toBe(200);
      const done = await cli.mutation<Issued>("tokens.complete", { requestId, approvalSecret, deviceName: "Deploy bot", deviceKey });
      expect(done.data).toMatchObject({ status: "issued", deviceKey });
      expect((await cli.useAccessToken(done.data!.accessToken).query("auth.me")).data).toMatchObject({ session: { method: "token" } });
      // Collected once only.
      expect((await cli.mutation("tokens.complete", { requestId, approvalSecret, deviceName: "Deploy bot", deviceKey })).status).toBe(400);

      // Same deviceKey: a known device, tokens at once. Without it: a new device again.
      expect(
        (await cli.mutation<RouterOutputs["tokens"]["issue"]>("tokens.issue", { email, password: PASSWORD, deviceName: "Deploy bot", deviceKey })).data!.status,
      ).toBe("issued");
      expect((await cli.mutation<RouterOutputs["tokens"]["issue"]>("tokens.issue", { email, password: PASSWORD, deviceName: "Deploy bot" })).data!.status).toBe(
        "approval_required",
      );
    } finally {
      await t.close();
    }
  });

  it("the session cap applies (reject policy: TOO_MANY_REQUESTS)", async () => {
    const t = await createTestServices({ SESSION_LIMIT: "2", SESSION_LIMIT_POLICY: "reject" });
    try {
      const email = uniqueEmail();
      await new TestBrowser(t.services).mutation("auth.register", { email, password: PASSWORD });
      const cli = () => new TokenClient(t.services, { origin: null, userAgent: CLI });
      expect((await cli().mutation("tokens.issue", { email, password: PASSWORD, deviceName: "one" })).status).toBe(200);
      const third = await cli().mutation("tokens.issue", { email, password: PASSWORD, deviceName: "two" });
      expect(third.error).toMatchObject({ data: { code: "TOO_MANY_REQUESTS" }, message: expect.stringMatching(/Already 2 sessions/) });
    } finally {
      await t.close();
    }
  });

  it("sign-in attempts per IP are rate limited for tokens.issue and auth.login together, with Retry-After", async () => {
    const t = await createTestServices({ SIGN_IN_RATE_LIMIT: "3", TRUST_PROXY: "true" });
    try {
      await clearOfMinuteBoundary();
      const email = uniqueEmail();
      await new TestBrowser(t.services).mutation("auth.register", { email, password: PASSWORD });
      const from = (ip: string) => new TokenClient(t.services, { origin: null, userAgent: CLI, headers: { "x-forwarded-for": ip } });
      expect((await from(SYDNEY).mutation("tokens.issue", { email, password: "wrong", deviceName: "x" })).status).toBe(401);
      expect((await from(SYDNEY).mutation("tokens.issue", { email, password: PASSWORD, deviceName: "x" })).status).toBe(200);
      expect((await new TestBrowser(t.services, { headers: { "x-forwarded-for": SYDNEY } }).mutation("auth.login", { email, password: PASSWORD })).status).toBe(
        200,
      );
      const limited = await from(SYDNEY).mutation("tokens.issue", { email, password: PASSWORD, deviceName: "x" });
      expect(limited.error).toMatchObject({
        data: { code: "TOO_MANY_REQUESTS", retryAfter: expect.any(Number) },
        message: expect.stringMatching(/Try again in \d+ s/),
      });
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(
        (
          await new TestBrowser(t.services, { userAgent: FIREFOX_LINUX, headers: { "x-forwarded-for": SYDNEY } }).mutation("auth.login", {
            email,
            password: PASSWORD,
          })
        ).status,
      ).toBe(429);
      // Another network is not affected.
      expect((await from(LONDON).mutation("tokens.issue", { email, password: PASSWORD, deviceName: "x" })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
