import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idKey } from "~/server/platform/redis/keys";
import { passwordHashingStats, resetPasswordHashingStats } from "~/server/platform/password";
import { AccountThrottle } from "~/server/security/throttle";
import { FIREFOX_LINUX, IPHONE, LONDON, MOUNTAIN_VIEW, PASSWORD, SYDNEY } from "~/test/fixtures";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import type { RouterOutputs } from "~/trpc/types";

// Issue 13, items 6, 7, 10, 13, 14 and 17, as an attacker and as the owner would meet them.

const NEW_PASSWORD = "another long passphrase 7";
const tokenOf = (qrUrl: string) => qrUrl.split("/").pop()!;

describe("hardening: fresh auth, throttled password checks, lockout, cap (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const at = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({ TRUST_PROXY: "true", SESSION_LIMIT: "0", TOKENS_FROM_SESSION_RATE_LIMIT: "3", REAUTH_MINUTES: "10" });
  });
  afterAll(() => t.close());

  async function account(ip = LONDON) {
    const email = uniqueEmail();
    const laptop = at(ip);
    const res = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    expect(res.status).toBe(200);
    return { email, laptop, userId: res.data!.user.id };
  }

  it("tokens.issueFromSession needs the password entered recently (reauth_required), then at most TOKENS_FROM_SESSION_RATE_LIMIT an hour", async () => {
    const { laptop } = await account();
    t.clock.now = Date.now() + 11 * 60_000;
    try {
      const stale = await laptop.mutation("tokens.issueFromSession", { deviceName: "My app" });
      expect(stale.error).toMatchObject({ data: { code: "FORBIDDEN", reason: "reauth_required" } });
      expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD })).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await laptop.mutation("tokens.issueFromSession", { deviceName: `App ${i}` })).status).toBe(200);
      const limited = await laptop.mutation("tokens.issueFromSession", { deviceName: "App 4" });
      expect(limited.error).toMatchObject({ data: { code: "TOO_MANY_REQUESTS" } });
      expect(limited.error!.data.retryAfter).toBeGreaterThan(0);
    } finally {
      t.clock.now = undefined;
    }
    const long = await laptop.mutation("tokens.issueFromSession", { deviceName: "x".repeat(65) });
    expect(long.error).toMatchObject({ data: { code: "BAD_REQUEST" } });
  });

  it("a token session minted from a session is not freshly authenticated itself, so it cannot mint the next one", async () => {
    const { laptop } = await account();
    const minted = await laptop.mutation<{ accessToken: string }>("tokens.issueFromSession", { deviceName: "Companion" });
    expect(minted.status).toBe(200);
    const app = new TestBrowser(t.services, { origin: null, headers: { authorization: `Bearer ${minted.data!.accessToken}` } });
    const again = await app.mutation("tokens.issueFromSession", { deviceName: "Next companion" });
    expect(again.error).toMatchObject({ data: { code: "FORBIDDEN", reason: "reauth_required" } });
  });

  it("tokens minted from a session never evict the owner's sessions at the cap: refused instead", async () => {
    const capped = await createTestServices({ SESSION_LIMIT: "2", SESSION_LIMIT_POLICY: "evict-oldest" });
    try {
      const email = uniqueEmail();
      const laptop = new TestBrowser(capped.services);
      const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
      expect((await laptop.mutation("tokens.issueFromSession", { deviceName: "App 1" })).status).toBe(200);
      const full = await laptop.mutation("tokens.issueFromSession", { deviceName: "App 2" });
      expect(full.error).toMatchObject({ data: { code: "TOO_MANY_REQUESTS" } });
      expect(await capped.services.sessions.listUserSessions(reg.data!.user.id)).toHaveLength(2);
      expect((await laptop.query("auth.me")).status).toBe(200);
    } finally {
      await capped.close();
    }
  });

  it("30 wrong lockout passwords from a stolen session: only the throttle's 5 are checked; the owner's account is untouched", async () => {
    const { laptop, userId } = await account();
    resetPasswordHashingStats();
    const results = [];
    // The clock stands still: a slow machine must not let the 1 s wait pass (then a 6th check is allowed).
    t.clock.now = Date.now();
    try {
      for (let i = 0; i < 30; i++) results.push(await laptop.mutation("sessions.lockout", { password: `guess ${i}` }));
    } finally {
      t.clock.now = undefined;
    }
    expect(passwordHashingStats().jobs).toBe(5);
    expect(results.filter((r) => r.status === 401)).toHaveLength(5);
    expect(results.slice(5).every((r) => r.error?.data.code === "TOO_MANY_REQUESTS" && r.error.data.reason === "too_many_failures")).toBe(true);
    expect(await t.services.db.securityEvent.count({ where: { userId, type: "lockout_failed" } })).toBe(5);
    expect(await t.services.sessions.listUserSessions(userId)).toHaveLength(1);
  });

  it("a session's re-authentication, password change and lockout share one throttle; failed sign-ins elsewhere do not delay the owner's lockout", async () => {
    const { email, laptop } = await account();
    t.clock.now = Date.now();
    try {
      // Someone guessing on the sign-in form throttles sign-in, not the signed-in owner.
      for (let i = 0; i < 8; i++) await at(SYDNEY).mutation("auth.login", { email, password: `wrong ${i}` });
      expect((await at(SYDNEY).mutation("auth.login", { email, password: PASSWORD })).error).toMatchObject({ data: { reason: "too_many_failures" } });
      // The session's own wrong passwords: 5 checked across the three actions, then a wait.
      for (let i = 0; i < 2; i++) expect((await laptop.mutation("account.reauthenticate", { password: "wrong" })).error?.data.reason).toBe("wrong_password");
      for (let i = 0; i < 2; i++)
        expect((await laptop.mutation("account.changePassword", { currentPassword: "wrong", newPassword: NEW_PASSWORD })).status).toBeLessThan(500);
      expect((await laptop.mutation("sessions.lockout", { password: "wrong" })).status).toBe(401);
      const sixth = await laptop.mutation("sessions.lockout", { password: PASSWORD });
      expect(sixth.error).toMatchObject({ message: "Too many wrong passwords for this account. Try again in 1 s.", data: { reason: "too_many_failures" } });
    } finally {
      t.clock.now = undefined;
    }
  });

  it("the owner's emergency lockout works while the sign-in form is throttled by a guesser", async () => {
    const { email, laptop, userId } = await account();
    t.clock.now = Date.now();
    try {
      for (let i = 0; i < 10; i++) await at(SYDNEY).mutation("auth.login", { email, password: `guess ${i}` });
      const lockout = await laptop.mutation("sessions.lockout", { password: PASSWORD });
      expect(lockout.status).toBe(200);
    } finally {
      t.clock.now = undefined;
    }
    expect(await t.services.sessions.listUserSessions(userId)).toHaveLength(0);
  });

  it("200 concurrent wrong lockouts from one account: at most 5 hashes; another user's sign-in is not queued behind them", async () => {
    const { laptop } = await account();
    const other = await account(MOUNTAIN_VIEW);
    await other.laptop.mutation("auth.logout");
    resetPasswordHashingStats();
    t.clock.now = Date.now();
    let results, signIn;
    try {
      const flood = Promise.all(Array.from({ length: 200 }, (_, i) => laptop.mutation("sessions.lockout", { password: `wrong ${i}` })));
      signIn = await at(MOUNTAIN_VIEW).mutation("auth.login", { email: other.email, password: PASSWORD });
      results = await flood;
    } finally {
      t.clock.now = undefined;
    }
    expect(signIn.status).toBe(200);
    expect(results.filter((r) => r.status === 401).length).toBeLessThanOrEqual(5);
    expect(results.every((r) => r.status === 401 || r.status === 429)).toBe(true);
    expect(passwordHashingStats().jobs).toBeLessThanOrEqual(6);
  });

  it("200 concurrent wrong sign-ins from the owner's own device (exempt from the throttle): admitted 2 at a time, the excess refused; another user waits behind at most 2", async () => {
    const { email, laptop } = await account(SYDNEY);
    const other = await account(MOUNTAIN_VIEW);
    await other.laptop.mutation("auth.logout");
    resetPasswordHashingStats();
    const flood = Promise.all(Array.from({ length: 200 }, () => laptop.mutation("auth.login", { email, password: "not it" })));
    const signIn = await at(MOUNTAIN_VIEW).mutation("auth.login", { email: other.email, password: PASSWORD });
    const results = await flood;
    expect(signIn.status).toBe(200);
    // Each one was either checked (wrong password) or refused at once because too many were waiting.
    for (const r of results.filter((r) => r.status !== 401)) {
      expect(r.error).toMatchObject({
        message: "Too many sign-in attempts at once for this account. Try again in 1 s.",
        data: { reason: "attempts_in_flight" },
      });
    }
    // The flood never had more than 2 checks in the pool, so nothing ever waited behind more than 2 (+ the other user's own).
    expect(passwordHashingStats().aheadMax).toBeLessThanOrEqual(2);
  });

  it("30 concurrent correct sign-ins for one account from 30 addresses are never told 'too many failed sign-ins'", async () => {
    const { email } = await account();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => at(`198.51.100.${i + 1}`, IPHONE).mutation("auth.login", { email, password: PASSWORD })),
    );
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(5);
    for (const r of results.filter((r) => r.status !== 200)) {
      expect(r.error).toMatchObject({
        message: "Too many sign-in attempts at once for this account. Try again in 1 s.",
        data: { code: "TOO_MANY_REQUESTS", reason: "attempts_in_flight", retryAfter: 1 },
      });
    }
  });

  it("the throttle tells attempts in flight from failures", async () => {
    const throttle = new AccountThrottle(t.services.redis.redis, t.env.REDIS_PREFIX, { after: 5, maxDelayMs: 900_000 });
    const email = uniqueEmail();
    const attempts = [];
    for (let i = 0; i < 5; i++) attempts.push(await throttle.beginAttempt(email));
    expect(await throttle.beginAttempt(email)).toMatchObject({ allowed: false, reason: "attempts_in_flight" });
    for (const a of attempts) if (a.allowed) await throttle.finishAttempt(email, a.id, false);
    expect(await throttle.beginAttempt(email)).toMatchObject({ allowed: false, reason: "too_many_failures" });
    // A success forgets the failures.
    const again = uniqueEmail();
    const first = await throttle.beginAttempt(again);
    const second = await throttle.beginAttempt(again);
    if (!first.allowed || !second.allowed) throw new Error("both allowed");
    await throttle.finishAttempt(again, first.id, false);
    await throttle.finishAttempt(again, second.id, true);
    for (let i = 0; i < 5; i++) expect((await throttle.beginAttempt(again)).allowed).toBe(true);
  });

  it("a QR offer approved before a lockout is still found and cancelled by it, after the owner scanned an older sign-in QR", async () => {
    const { laptop, userId } = await account();
    const desk = at(SYDNEY, FIREFOX_LINUX);
    const older = (await desk.mutation<{ id: string; qrUrl: string }>("handoff.start")).data!;
    const offer = (await laptop.mutation<{ id: string; qrUrl: string }>("handoff.offer")).data!;
    const recipient = at(SYDNEY, IPHONE);
    expect((await recipient.mutation("handoff.claim", { token: tokenOf(offer.qrUrl) })).status).toBe(200);
    expect((await laptop.mutation("handoff.approve", { token: tokenOf(offer.qrUrl) })).status).toBe(200);
    // The sign-in QR is older: little of its lifetime is left when the owner scans it.
    await t.services.redis.redis.pexpire(idKey(t.env.REDIS_PREFIX, "handoff", older.id), 200);
    expect((await laptop.mutation("handoff.inspect", { token: tokenOf(older.qrUrl) })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 400));
    expect((await laptop.mutation("sessions.lockout", { password: PASSWORD })).status).toBe(200);
    expect(await t.services.handoffs.watch(offer.id, { userId })).toMatchObject({ ok: true, record: { status: "cancelled" } });
    expect((await recipient.mutation("handoff.complete", { id: offer.id })).status).toBe(400);
  });
});

describe("emergency lockout drops every device's trust and can change the password", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const at = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({ TRUST_PROXY: "true", SESSION_LIMIT: "0", NEW_DEVICE_APPROVAL: "true" });
  });
  afterAll(() => t.close());

  it("after a lockout a device approved earlier is a new device: the first sign-in gets a session, the next needs its approval", async () => {
    const email = uniqueEmail();
    const laptop = at(LONDON);
    await laptop.mutation("auth.register", { email, password: PASSWORD });
    const phone = at(LONDON, IPHONE);
    const request = (await phone.mutation<{ status: string; requestId: string; code: string }>("auth.login", { email, password: PASSWORD })).data!;
    expect(request.status).toBe("approval_required");
    await laptop.mutation("approvals.confirm", { requestId: request.requestId, code: request.code });
    expect((await phone.mutation("approvals.complete", { requestId: request.requestId })).status).toBe(200);
    const laptopDevice = (await laptop.query<{ id: string }>("devices.current")).data!.id;

    expect((await phone.mutation("sessions.lockout", { password: PASSWORD })).status).toBe(200);

    const back = await laptop.mutation<RouterOutputs["auth"]["login"]>("auth.login", { email, password: PASSWORD });
    expect(back.data).toMatchObject({ status: "signed_in" });
    const devices = (await laptop.query<RouterOutputs["devices"]["list"]>("devices.list")).data!;
    expect(devices.map((d) => d.id)).not.toContain(laptopDevice);
    expect((await phone.mutation<{ status: string }>("auth.login", { email, password: PASSWORD })).data).toMatchObject({ status: "approval_required" });
  });

  it("lockout with newPassword: the rules of account.changePassword; on success the old password stops working", async () => {
    const email = uniqueEmail();
    const laptop = at(LONDON);
    await laptop.mutation("auth.register", { email, password: PASSWORD });
    const weak = await laptop.mutation("sessions.lockout", { password: PASSWORD, newPassword: "short" });
    expect(weak.error).toMatchObject({ data: { code: "BAD_REQUEST", fieldErrors: { newPassword: ["Password must be at least 8 characters"] } } });
    const same = await laptop.mutation("sessions.lockout", { password: PASSWORD, newPassword: PASSWORD });
    expect(same.error?.message).toBe("The new password must differ from the current one.");
    expect((await laptop.query("auth.me")).status).toBe(200); // nothing was changed

    expect((await laptop.mutation("sessions.lockout", { password: PASSWORD, newPassword: NEW_PASSWORD })).data).toEqual({ ok: true, count: 1 });
    expect((await at(LONDON).mutation("auth.login", { email, password: PASSWORD })).status).toBe(401);
    expect((await laptop.mutation("auth.login", { email, password: NEW_PASSWORD })).status).toBe(200);
  });
});

describe("the session cap, told before it signs anyone out (evict-oldest, SESSION_LIMIT=2)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const at = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({ TRUST_PROXY: "true", SESSION_LIMIT: "2", SESSION_LIMIT_POLICY: "evict-oldest", NEW_DEVICE_APPROVAL: "true" });
  });
  afterAll(() => t.close());

  it("sessions.cap, approvals.pending and handoff.inspect name the session one more sign-in ends; the sign-in says whom it signed out", async () => {
    const email = uniqueEmail();
    const laptop = at(LONDON);
    await laptop.mutation("auth.register", { email, password: PASSWORD });
    type Cap = RouterOutputs["sessions"]["cap"];
    expect((await laptop.query<Cap>("sessions.cap")).data).toEqual({ limit: 2, policy: "evict-oldest", active: 1, wouldSignOut: null });

    const phone = at(LONDON, IPHONE);
    const request = (await phone.mutation<{ requestId: string; code: string }>("auth.login", { email, password: PASSWORD })).data!;
    await laptop.mutation("approvals.confirm", { requestId: request.requestId, code: request.code });
    expect((await phone.mutation<RouterOutputs["approvals"]["complete"]>("approvals.complete", { requestId: request.requestId })).data).toMatchObject({
      signedOut: null,
    });
    const phoneSession = (await phone.query<RouterOutputs["auth"]["me"]>("auth.me")).data!.session.id;
    const phoneName = (await phone.query<{ name: string }>("devices.current")).data!.name;

    // The laptop asks, so the phone is the least recently used.
    const cap = (await laptop.query<Cap>("sessions.cap")).data!;
    expect(cap).toMatchObject({ limit: 2, policy: "evict-oldest", active: 2, wouldSignOut: { sessionId: phoneSession, deviceName: phoneName } });
    expect(cap.wouldSignOut!.lastSeenAt).toBeInstanceOf(Date);

    const desk = at(SYDNEY, FIREFOX_LINUX);
    const second = (await desk.mutation<{ requestId: string; code: string }>("auth.login", { email, password: PASSWORD })).data!;
    const pending = (await laptop.query<RouterOutputs["approvals"]["pending"]>("approvals.pending")).data!;
    expect(pending.find((p) => p.requestId === second.requestId)).toMatchObject({ wouldSignOut: { sessionId: phoneSession, deviceName: phoneName } });

    const qr = (await at(SYDNEY, FIREFOX_LINUX).mutation<{ qrUrl: string }>("handoff.start")).data!;
    const inspected = (await laptop.mutation<RouterOutputs["handoff"]["inspect"]>("handoff.inspect", { token: tokenOf(qr.qrUrl) })).data!;
    expect(inspected.wouldSignOut).toMatchObject({ sessionId: phoneSession, deviceName: phoneName });

    await laptop.mutation("approvals.confirm", { requestId: second.requestId, code: second.code });
    expect((await desk.mutation<RouterOutputs["approvals"]["complete"]>("approvals.complete", { requestId: second.requestId })).data).toMatchObject({
      signedOut: { deviceName: phoneName },
    });
    expect((await phone.query("auth.me")).status).toBe(401);
  });

  it("approving a new device, then having the approving session end, leaves the new device without a session", async () => {
    const email = uniqueEmail();
    const laptop = at(LONDON);
    await laptop.mutation("auth.register", { email, password: PASSWORD });
    const phone = at(LONDON, IPHONE);
    const request = (await phone.mutation<{ requestId: string; code: string }>("auth.login", { email, password: PASSWORD })).data!;
    await laptop.mutation("approvals.confirm", { requestId: request.requestId, code: request.code });
    await laptop.mutation("auth.logout");
    const completed = await phone.mutation("approvals.complete", { requestId: request.requestId });
    expect(completed.error).toMatchObject({ data: { code: "UNAUTHORIZED", reason: "parent_session_ended" } });
  });
});
