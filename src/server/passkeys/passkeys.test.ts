import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import { SoftwareAuthenticator } from "~/test/authenticator";
import { FIREFOX_LINUX, PASSWORD } from "~/test/fixtures";
import { APP_URL, clearOfMinuteBoundary, createTestServices, TestBrowser, uniqueEmail, type CallResult } from "~/test/harness";
import { PASSKEY_CHALLENGE_TTL_MS } from "~/server/policy";

// Passkeys end to end through the real tRPC handler, PostgreSQL and Redis, with a software
// authenticator (src/test/authenticator.ts) that builds genuine WebAuthn responses.

type Passkey = { id: string; name: string; provider: string; synced: boolean; lastUsedAt: Date | null; createdAt: Date };

const ICLOUD = "fbfc3007-154e-4ecc-8c0b-6e020557d7bd";

describe("passkeys (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;

  beforeAll(async () => {
    t = await createTestServices({ NEW_DEVICE_APPROVAL: "true", PASSKEY_RATE_LIMIT: "100000" });
  });
  afterAll(() => t.close());

  const reason = (r: CallResult) => r.error?.data.reason;

  async function signedUp() {
    const email = uniqueEmail("pk");
    const browser = new TestBrowser(t.services);
    const userId = (await browser.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD })).data!.user.id;
    return { email, userId, browser };
  }

  /** A second password session of the account, let in by the first (new-device approval is on). */
  async function secondSession(first: TestBrowser, email: string, userAgent = FIREFOX_LINUX) {
    const next = new TestBrowser(t.services, { userAgent });
    const asked = (await next.mutation<{ requestId: string; code: string }>("auth.login", { email, password: PASSWORD })).data!;
    await first.mutation("approvals.confirm", { requestId: asked.requestId, code: asked.code });
    expect((await next.mutation("approvals.complete", { requestId: asked.requestId })).status).toBe(200);
    return next;
  }

  async function addPasskey(browser: TestBrowser, authenticator: SoftwareAuthenticator, name = "My laptop") {
    const options = (await browser.mutation<PublicKeyCredentialCreationOptionsJSON>("passkeys.registrationOptions")).data!;
    const res = await browser.mutation<{ passkey: Passkey }>("passkeys.register", { response: authenticator.register(options), name });
    expect(res.error).toBeUndefined();
    return res.data!.passkey;
  }

  async function signInWithPasskey(browser: TestBrowser, authenticator: SoftwareAuthenticator) {
    const options = (await browser.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
    return browser.mutation<{ status: string; user: { id: string } }>("auth.loginWithPasskey", { response: authenticator.assert(options) });
  }

  it("registers a discoverable, user-verified passkey and lists it with its provider, never its key", async () => {
    const { browser, userId, email } = await signedUp();
    const options = (await browser.mutation<PublicKeyCredentialCreationOptionsJSON>("passkeys.registrationOptions")).data!;
    expect(options.rp.id).toBe("localhost");
    expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" });
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL, aaguid: ICLOUD, synced: true, counterStep: 0 });
    const res = await browser.mutation<{ passkey: Passkey }>("passkeys.register", { response: authenticator.register(options), name: "  iPhone  " });
    expect(res.data!.passkey).toMatchObject({ name: "iPhone", provider: "iCloud Keychain", synced: true, lastUsedAt: null });
    const list = (await browser.query<Passkey[]>("passkeys.list")).data!;
    expect(list).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain(authenticator.credentials[0]!.id.toString("base64url"));
    expect(list[0]).not.toHaveProperty("publicKey");
    const events = await t.services.db.securityEvent.findMany({ where: { userId, type: "passkey_added" } });
    expect(events).toHaveLength(1);
    expect((await t.services.mailer.outbox()).some((m) => m.to === email && m.subject.includes("passkey was added"))).toBe(true);
    // An unknown AAGUID reads as "Passkey".
    const other = await addPasskey(browser, new SoftwareAuthenticator({ origin: APP_URL }), "Key");
    expect(other.provider).toBe("Passkey");
    expect(other.synced).toBe(false);
  });

  it("registration needs fresh authentication, and a response to another session's options is refused", async () => {
    const { browser, email } = await signedUp();
    const other = await secondSession(browser, email);
    await other.mutation("account.reauthenticate", { password: PASSWORD });
    const options = (await browser.mutation<PublicKeyCredentialCreationOptionsJSON>("passkeys.registrationOptions")).data!;
    const response = new SoftwareAuthenticator({ origin: APP_URL }).register(options);
    const answered = await other.mutation("passkeys.register", { response, name: "stolen" });
    expect(reason(answered)).toBe("passkey_challenge_invalid");
    // The challenge is one-time: a second answer is refused as well.
    expect((await browser.mutation("passkeys.register", { response, name: "mine" })).error).toBeUndefined();
    expect(reason(await browser.mutation("passkeys.register", { response, name: "again" }))).toBe("passkey_challenge_invalid");
    // Past REAUTH_MINUTES the options themselves ask for re-authentication.
    const stale = await secondSession(browser, email);
    t.clock.now = Date.now() + t.services.config.reauthMs + 1000;
    try {
      expect(reason(await stale.mutation("passkeys.registrationOptions"))).toBe("reauth_required");
    } finally {
      t.clock.now = undefined;
    }
  });

  it("renames and removes a passkey (security events, mail, a live event), and only the owner's", async () => {
    const { browser, userId } = await signedUp();
    const passkey = await addPasskey(browser, new SoftwareAuthenticator({ origin: APP_URL }));
    const seq = await t.services.events.currentSeq(userId);
    const renamed = await browser.mutation<{ passkey: Passkey }>("passkeys.rename", { id: passkey.id, name: "Work laptop" });
    expect(renamed.data!.passkey.name).toBe("Work laptop");
    const stranger = await signedUp();
    expect(reason(await stranger.browser.mutation("passkeys.rename", { id: passkey.id, name: "mine" }))).toBe("passkey_not_found");
    expect(reason(await stranger.browser.mutation("passkeys.remove", { id: passkey.id }))).toBe("passkey_not_found");
    expect((await browser.mutation("passkeys.remove", { id: passkey.id })).data).toEqual({ ok: true });
    expect((await browser.query<Passkey[]>("passkeys.list")).data).toEqual([]);
    expect(reason(await browser.mutation("passkeys.remove", { id: passkey.id }))).toBe("passkey_not_found");
    const types = (await t.services.db.securityEvent.findMany({ where: { userId, type: { startsWith: "passkey_" } }, orderBy: { createdAt: "asc" } })).map(
      (e) => e.type,
    );
    expect(types).toEqual(["passkey_added", "passkey_renamed", "passkey_removed"]);
    const { events } = await t.services.events.poll(userId, "none", seq);
    expect(events.filter((e) => e.type === "passkeys_changed")).toHaveLength(2);
  });

  it("signs in with a passkey on a new device: method passkey, no approval, fresh authentication, in the history", async () => {
    const { browser, userId } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL });
    const passkey = await addPasskey(browser, authenticator);
    // A new browser while the laptop is signed in: a password would need approval, a passkey does not.
    const phone = new TestBrowser(t.services, { userAgent: FIREFOX_LINUX });
    const res = await signInWithPasskey(phone, authenticator);
    expect(res.data).toMatchObject({ status: "signed_in", user: { id: userId } });
    const me = (await phone.query<{ session: { method: string } }>("auth.me")).data!;
    expect(me.session.method).toBe("passkey");
    // Counted as a fresh authentication: sensitive actions work at once.
    expect((await phone.mutation("passkeys.registrationOptions")).error).toBeUndefined();
    const history = await t.services.db.loginEvent.findMany({ where: { userId, method: "passkey" } });
    expect(history.map((h) => h.outcome)).toEqual(["success"]);
    const listed = (await browser.query<Passkey[]>("passkeys.list")).data!;
    expect(listed.find((p) => p.id === passkey.id)!.lastUsedAt).not.toBeNull();
  });

  it("refuses a replayed assertion: the challenge was consumed", async () => {
    const { browser } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL, counterStep: 0 });
    await addPasskey(browser, authenticator);
    const device = new TestBrowser(t.services);
    const options = (await device.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
    const response = authenticator.assert(options);
    expect((await device.mutation("auth.loginWithPasskey", { response })).data).toMatchObject({ status: "signed_in" });
    const replay = await device.mutation("auth.loginWithPasskey", { response });
    expect(replay.status).toBe(400);
    expect(reason(replay)).toBe("passkey_challenge_invalid");
  });

  it("one answer raced 10 times signs in once: the challenge is taken atomically", async () => {
    const { browser } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL, counterStep: 0 });
    await addPasskey(browser, authenticator);
    const device = new TestBrowser(t.services);
    const options = (await device.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
    const response = authenticator.assert(options);
    const results = await Promise.all(Array.from({ length: 10 }, () => device.mutation<{ status: string }>("auth.loginWithPasskey", { response })));
    expect(results.filter((r) => r.data?.status === "signed_in")).toHaveLength(1);
    expect(results.filter((r) => reason(r) === "passkey_challenge_invalid")).toHaveLength(9);
  });

  it("refuses a cloned authenticator (a counter that does not increase), reports it and mails the owner", async () => {
    const { browser, userId, email } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL });
    await addPasskey(browser, authenticator);
    const copy = authenticator.clone();
    expect((await signInWithPasskey(new TestBrowser(t.services), authenticator)).data?.status).toBe("signed_in");
    const cloned = await signInWithPasskey(new TestBrowser(t.services), copy);
    expect(cloned.status).toBe(403);
    expect(reason(cloned)).toBe("passkey_cloned");
    expect(await t.services.db.securityEvent.count({ where: { userId, type: "passkey_clone_detected" } })).toBe(1);
    expect(await t.services.db.loginEvent.count({ where: { userId, method: "passkey", outcome: "blocked", reason: "passkey_cloned" } })).toBe(1);
    expect((await t.services.mailer.outbox()).some((m) => m.to === email && m.subject.includes("copied passkey"))).toBe(true);
    // The genuine authenticator still signs in (its counter moved on).
    expect((await signInWithPasskey(new TestBrowser(t.services), authenticator)).data?.status).toBe("signed_in");
  });

  it("refuses a sign-in challenge answered from another browser", async () => {
    const { browser } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL });
    await addPasskey(browser, authenticator);
    const asker = new TestBrowser(t.services);
    const options = (await asker.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
    const response = authenticator.assert(options);
    const thief = new TestBrowser(t.services);
    const stolen = await thief.mutation("auth.loginWithPasskey", { response });
    expect(reason(stolen)).toBe("passkey_challenge_invalid");
    expect(await thief.query("auth.me").then((r) => r.status)).toBe(401);
  });

  it("refuses a challenge answered after PASSKEY_CHALLENGE_TTL_MS", async () => {
    const { browser } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL });
    await addPasskey(browser, authenticator);
    const device = new TestBrowser(t.services);
    const options = (await device.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
    t.clock.now = Date.now() + PASSKEY_CHALLENGE_TTL_MS + 1000;
    try {
      expect(reason(await device.mutation("auth.loginWithPasskey", { response: authenticator.assert(options) }))).toBe("passkey_challenge_invalid");
    } finally {
      t.clock.now = undefined;
    }
  });

  it("refuses an assertion for another origin, without user verification, or for an unknown passkey", async () => {
    const { browser } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL });
    await addPasskey(browser, authenticator);
    const device = new TestBrowser(t.services);
    let options = (await device.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
    expect(options.allowCredentials ?? []).toEqual([]);
    expect(options.userVerification).toBe("required");
    expect(reason(await device.mutation("auth.loginWithPasskey", { response: authenticator.assert(options, { origin: "https://evil.example" }) }))).toBe(
      "passkey_invalid",
    );
    const noUv = authenticator.clone();
    noUv.options.userVerified = false;
    options = (await device.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
    expect(reason(await device.mutation("auth.loginWithPasskey", { response: noUv.assert(options) }))).toBe("passkey_invalid");
    const unknown = new SoftwareAuthenticator({ origin: APP_URL });
    unknown.register({
      ...(await (async () => ({
        rp: { id: "localhost", name: "x" },
        user: { id: "eA", name: "x", displayName: "x" },
        challenge: "AA",
        pubKeyCredParams: [],
      }))()),
    });
    options = (await device.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
    const res = await device.mutation("auth.loginWithPasskey", { response: unknown.assert(options) });
    expect(res.status).toBe(401);
    expect(reason(res)).toBe("passkey_invalid");
  });

  it("account.reauthenticate accepts a passkey assertion of the signed-in user only", async () => {
    const { browser, email } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL });
    await addPasskey(browser, authenticator);
    const stranger = await signedUp();
    const strangerKey = new SoftwareAuthenticator({ origin: APP_URL });
    await addPasskey(stranger.browser, strangerKey);

    const laptop = await secondSession(browser, email);
    t.clock.now = Date.now() + t.services.config.reauthMs + 1000;
    try {
      expect(reason(await laptop.mutation("passkeys.registrationOptions"))).toBe("reauth_required");
      let options = (await laptop.mutation<PublicKeyCredentialRequestOptionsJSON>("passkeys.reauthOptions")).data!;
      expect(options.allowCredentials).toHaveLength(1);
      // Someone else's passkey proves nothing about this account.
      expect(
        reason(
          await laptop.mutation("account.reauthenticate", {
            passkey: strangerKey.assert(options, { credentialId: strangerKey.credentials[0]!.id.toString("base64url") }),
          }),
        ),
      ).toBe("passkey_invalid");
      options = (await laptop.mutation<PublicKeyCredentialRequestOptionsJSON>("passkeys.reauthOptions")).data!;
      const ok = await laptop.mutation<{ ok: boolean }>("account.reauthenticate", { passkey: authenticator.assert(options) });
      expect(ok.data?.ok).toBe(true);
      expect((await laptop.mutation("passkeys.registrationOptions")).error).toBeUndefined();
    } finally {
      t.clock.now = undefined;
    }
    // The password form still works.
    expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD })).data).toMatchObject({ ok: true });
  });

  it("the emergency lockout removes every passkey; account deletion removes them too; the export lists them without keys", async () => {
    const { browser, userId } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL });
    await addPasskey(browser, authenticator, "One");
    await addPasskey(browser, new SoftwareAuthenticator({ origin: APP_URL }), "Two");
    const exported = (await browser.mutation<{ passkeys: Passkey[] }>("account.exportData")).data!;
    expect(exported.passkeys.map((p) => p.name)).toEqual(["One", "Two"]);
    expect(JSON.stringify(exported)).not.toContain(authenticator.credentials[0]!.id.toString("base64url"));

    expect((await browser.mutation("sessions.lockout", { password: PASSWORD })).error).toBeUndefined();
    expect(await t.services.db.passkey.count({ where: { userId } })).toBe(0);
    expect(reason(await signInWithPasskey(new TestBrowser(t.services), authenticator))).toBe("passkey_invalid");

    const other = await signedUp();
    await addPasskey(other.browser, new SoftwareAuthenticator({ origin: APP_URL }));
    expect((await other.browser.mutation("account.delete", { password: PASSWORD })).error).toBeUndefined();
    expect(await t.services.db.passkey.count({ where: { userId: other.userId } })).toBe(0);
  });

  it("throttles failed passkey sign-ins per IP, and a success clears the count", async () => {
    const { browser } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL });
    await addPasskey(browser, authenticator);
    const device = new TestBrowser(t.services, { ip: "10.8.8.8" });
    const failures = [];
    for (let i = 0; i < t.env.ACCOUNT_THROTTLE_AFTER + 1; i++) {
      const options = (await device.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
      failures.push(reason(await device.mutation("auth.loginWithPasskey", { response: authenticator.assert(options, { origin: "https://evil.example" }) })));
    }
    expect(failures.slice(0, t.env.ACCOUNT_THROTTLE_AFTER).every((r) => r === "passkey_invalid")).toBe(true);
    expect(failures.at(-1)).toBe("too_many_failures");
    // Another network is not affected.
    expect((await signInWithPasskey(new TestBrowser(t.services, { ip: "10.7.7.7" }), authenticator)).data?.status).toBe("signed_in");
  });

  it("failed passkey sign-ins from one IPv6 /64 count together, whichever of its addresses they use", async () => {
    const { browser } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL });
    await addPasskey(browser, authenticator);
    const failures = [];
    for (let i = 0; i < t.env.ACCOUNT_THROTTLE_AFTER + 1; i++) {
      const device = new TestBrowser(t.services, { ip: `2001:db8:88:1::${(i + 1).toString(16)}` });
      const options = (await device.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
      failures.push(reason(await device.mutation("auth.loginWithPasskey", { response: authenticator.assert(options, { origin: "https://evil.example" }) })));
    }
    expect(failures.at(-1)).toBe("too_many_failures");
    expect((await signInWithPasskey(new TestBrowser(t.services, { ip: "2001:db8:88:2::1" }), authenticator)).data?.status).toBe("signed_in");
  });

  it("garbage WebAuthn responses answer typed errors, never a 500", async () => {
    const { browser } = await signedUp();
    const authenticator = new SoftwareAuthenticator({ origin: APP_URL });
    await addPasskey(browser, authenticator);
    // From an address of its own: failed passkey sign-ins are throttled per IP.
    const device = new TestBrowser(t.services, { ip: "10.9.9.9" });
    const options = (await device.mutation<PublicKeyCredentialRequestOptionsJSON>("auth.passkeyOptions")).data!;
    const good = authenticator.assert(options);
    const regOptions = (await browser.mutation<PublicKeyCredentialCreationOptionsJSON>("passkeys.registrationOptions")).data!;
    const goodReg = new SoftwareAuthenticator({ origin: APP_URL }).register(regOptions);
    const garbage = [
      {},
      { ...good, response: { ...good.response, clientDataJSON: "AAAA" } },
      { ...good, response: { ...good.response, clientDataJSON: Buffer.from('{"challenge":5}').toString("base64url") } },
      { ...good, response: { ...good.response, authenticatorData: "AA" } },
      { ...good, response: { ...good.response, signature: "AAAA" } },
      { ...good, response: { ...good.response, userHandle: "!!" } },
      { ...good, id: "x".repeat(5000) },
      { ...good, type: "password" },
    ];
    for (const response of garbage) {
      for (const [who, path, input] of [
        [device, "auth.loginWithPasskey", { response }],
        [browser, "account.reauthenticate", { passkey: response }],
      ] as const) {
        const res = await who.mutation(path, input);
        expect(res.status, `${path} ${JSON.stringify(response).slice(0, 80)}`).toBeLessThan(500);
        // too_many_failures: the failures are counted (per IP for sign-in, per session for re-authentication).
        expect(["invalid_input", "passkey_invalid", "passkey_challenge_invalid", "too_many_failures"]).toContain(reason(res));
      }
    }
    const badRegs = [
      { ...goodReg, response: { ...goodReg.response, attestationObject: "AAAA" } },
      { ...goodReg, response: { ...goodReg.response, attestationObject: Buffer.from("not cbor at all").toString("base64url") } },
      { ...goodReg, response: { ...goodReg.response, clientDataJSON: "e30" } },
    ];
    for (const response of badRegs) {
      const res = await browser.mutation("passkeys.register", { response, name: "x" });
      expect(res.status).toBeLessThan(500);
      expect(["invalid_input", "passkey_invalid", "passkey_challenge_invalid"]).toContain(reason(res));
    }
    // A garbled attestation whose challenge is genuine consumes it and is refused as invalid.
    const fresh = (await browser.mutation<PublicKeyCredentialCreationOptionsJSON>("passkeys.registrationOptions")).data!;
    const real = new SoftwareAuthenticator({ origin: APP_URL }).register(fresh);
    expect(
      reason(await browser.mutation("passkeys.register", { response: { ...real, response: { ...real.response, attestationObject: "oWNmbXQ" } }, name: "x" })),
    ).toBe("passkey_invalid");
  });
});

describe("passkey request limit (PASSKEY_RATE_LIMIT)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  beforeAll(async () => {
    t = await createTestServices({ PASSKEY_RATE_LIMIT: "3" });
  });
  afterAll(() => t.close());

  it("answers rate_limited past the limit per IP, another IP is not affected", async () => {
    await clearOfMinuteBoundary();
    const browser = new TestBrowser(t.services, { ip: "10.1.1.1" });
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await browser.mutation("auth.passkeyOptions")).error?.data.reason ?? "ok");
    expect(results).toEqual(["ok", "ok", "ok", "rate_limited"]);
    expect((await new TestBrowser(t.services, { ip: "10.1.1.2" }).mutation("auth.passkeyOptions")).error).toBeUndefined();
  });
});
