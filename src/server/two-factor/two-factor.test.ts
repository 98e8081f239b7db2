import crypto from "node:crypto";
import { Secret, TOTP } from "otpauth";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RouterOutputs } from "~/trpc/types";
import { SECOND_FACTOR_ATTEMPTS, SECOND_FACTOR_CHALLENGE_TTL_MS } from "~/server/policy";
import { PASSWORD } from "~/test/fixtures";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { linkToken, startSmtp } from "~/test/smtp";

type Login = RouterOutputs["auth"]["login"];
type Challenge = Extract<Login, { status: "second_factor_required" }>;
type Issue = RouterOutputs["tokens"]["issue"];

const STEP_MS = 30_000;
const NEW_PASSWORD = "another long passphrase for the reset";

/** The code an authenticator app shows for `secret` at `at` (ms). */
const codeAt = (secret: string, at: number) =>
  new TOTP({ algorithm: "SHA1", digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: at });

describe("two-factor authentication (TOTP + recovery codes; real PostgreSQL, Redis and SMTP)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let ipCounter = 0;
  const browser = (services = t.services) => new TestBrowser(services, { headers: { "x-forwarded-for": `198.51.100.${++ipCounter % 250}` } });

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await createTestServices({
      TRUST_PROXY: "true",
      SMTP_URL: smtp.url,
      SESSION_LIMIT: "0",
      ACCOUNT_THROTTLE_AFTER: "100",
      PASSWORD_RESET_ADDRESS_RATE_LIMIT: "1000",
    });
  });
  afterAll(async () => {
    await t.services.mailer.flush();
    await t.close();
    await smtp.close();
  });
  // Each test starts a few seconds into a fresh time step of the injected clock.
  beforeEach(() => {
    t.clock.now = Math.floor(Date.now() / STEP_MS) * STEP_MS + 5_000;
  });
  const advance = (ms: number) => {
    t.clock.now = t.clock.now! + ms;
  };

  /** A signed-in account with two-factor on: its secret and recovery codes. */
  async function withTwoFactor(services = t.services) {
    const email = uniqueEmail("2fa");
    const laptop = browser(services);
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    const setup = await laptop.mutation<RouterOutputs["twoFactor"]["setup"]>("twoFactor.setup");
    const { secret } = setup.data!;
    const enabled = await laptop.mutation<RouterOutputs["twoFactor"]["enable"]>("twoFactor.enable", { code: codeAt(secret, t.clock.now!) });
    expect(enabled.error).toBeUndefined();
    // Sign-ins in the tests use later steps (the enabling one is spent).
    advance(STEP_MS);
    return { email, laptop, userId: reg.data!.user.id, secret, recoveryCodes: enabled.data!.recoveryCodes, setup: setup.data! };
  }

  async function passwordStep(email: string, from = browser(), password = PASSWORD) {
    const res = await from.mutation<Login>("auth.login", { email, password });
    expect(res.data).toMatchObject({ status: "second_factor_required" });
    return { from, challenge: res.data as Challenge };
  }

  const verify = (from: TestBrowser, challengeId: string, code: string) => from.mutation<Login>("auth.verifySecondFactor", { challengeId, code });

  it("setup gives a secret and an otpauth URI; enable with a current code turns it on with 10 recovery codes; the secret is stored sealed", async () => {
    const { email, laptop, userId, secret, recoveryCodes, setup } = await withTwoFactor();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(setup.uri);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.searchParams.get("secret")).toBe(secret);
    expect(uri.searchParams.get("issuer")).toBe("Handoff");
    expect(decodeURIComponent(uri.pathname)).toContain(email);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
    expect((await laptop.query("twoFactor.status")).data).toMatchObject({ enabled: true, recoveryCodesLeft: 10 });
    const row = await t.services.db.twoFactor.findUniqueOrThrow({ where: { userId } });
    expect(row.sealedSecret).not.toContain(secret);
    const codes = await t.services.db.recoveryCode.findMany({ where: { userId } });
    for (const stored of codes) for (const code of recoveryCodes) expect(stored.codeHash).not.toContain(code.replace("-", ""));
    const events = await t.services.db.securityEvent.findMany({ where: { userId }, select: { type: true } });
    expect(events.map((e) => e.type)).toContain("two_factor_enabled");
    await smtp.mailTo(t.services.mailer, email, /two-factor authentication turned on/);
  });

  it("enable refuses a wrong code, a set-up that was never started or has expired, and an account that already has it", async () => {
    const email = uniqueEmail("2fa-enable");
    const laptop = browser();
    await laptop.mutation("auth.register", { email, password: PASSWORD });
    expect((await laptop.mutation("twoFactor.enable", { code: "123456" })).error?.data.reason).toBe("two_factor_setup_expired");
    const setup = (await laptop.mutation<RouterOutputs["twoFactor"]["setup"]>("twoFactor.setup")).data!;
    const wrong = codeAt(setup.secret, t.clock.now!) === "000000" ? "111111" : "000000";
    expect((await laptop.mutation("twoFactor.enable", { code: wrong })).error?.data.reason).toBe("wrong_second_factor_code");
    expect((await laptop.query("twoFactor.status")).data).toMatchObject({ enabled: false });
    expect((await laptop.mutation("twoFactor.enable", { code: codeAt(setup.secret, t.clock.now!) })).data).toHaveProperty("recoveryCodes");
    expect((await laptop.mutation("twoFactor.setup")).error?.data.reason).toBe("two_factor_already_enabled");
  });

  it("with two-factor on, the password alone opens no session; the TOTP code completes the sign-in (method password)", async () => {
    const { email, secret } = await withTwoFactor();
    const { from, challenge } = await passwordStep(email);
    expect(challenge.challengeId).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
    expect(new Date(challenge.expiresAt).getTime()).toBe(t.clock.now! + SECOND_FACTOR_CHALLENGE_TTL_MS);
    expect(Object.keys(challenge).sort()).toEqual(["challengeId", "expiresAt", "status"]);
    expect((await from.query("auth.me")).error?.data.reason).toBe("not_signed_in");
    const done = await verify(from, challenge.challengeId, codeAt(secret, t.clock.now!));
    expect(done.data).toMatchObject({ status: "signed_in" });
    expect((await from.query<RouterOutputs["auth"]["me"]>("auth.me")).data?.session.method).toBe("password");
    // The challenge is spent.
    expect((await verify(from, challenge.challengeId, codeAt(secret, t.clock.now! + STEP_MS))).error?.data.reason).toBe("second_factor_invalid");
  });

  it("a TOTP code is accepted once: replayed for another sign-in, even from another browser, it is refused", async () => {
    const { email, secret } = await withTwoFactor();
    const code = codeAt(secret, t.clock.now!);
    const first = await passwordStep(email);
    const second = await passwordStep(email);
    expect((await verify(first.from, first.challenge.challengeId, code)).data).toMatchObject({ status: "signed_in" });
    expect((await verify(second.from, second.challenge.challengeId, code)).error?.data.reason).toBe("wrong_second_factor_code");
    // An earlier step than the one used is refused too; the next one works.
    expect((await verify(second.from, second.challenge.challengeId, codeAt(secret, t.clock.now! - STEP_MS))).error?.data.reason).toBe(
      "wrong_second_factor_code",
    );
    expect((await verify(second.from, second.challenge.challengeId, codeAt(secret, t.clock.now! + STEP_MS))).data).toMatchObject({ status: "signed_in" });
  });

  it("codes one time step off (clock drift) are accepted; two steps off are refused", async () => {
    const { email, secret } = await withTwoFactor();
    advance(STEP_MS); // so the step behind is not the one spent on enabling
    // Two steps ahead of and behind the clock: refused.
    const a = await passwordStep(email);
    expect((await verify(a.from, a.challenge.challengeId, codeAt(secret, t.clock.now! - 2 * STEP_MS))).error?.data.reason).toBe("wrong_second_factor_code");
    expect((await verify(a.from, a.challenge.challengeId, codeAt(secret, t.clock.now! + 2 * STEP_MS))).error?.data.reason).toBe("wrong_second_factor_code");
    // One step behind: accepted.
    expect((await verify(a.from, a.challenge.challengeId, codeAt(secret, t.clock.now! - STEP_MS))).data).toMatchObject({ status: "signed_in" });
    // One step ahead: accepted.
    const b = await passwordStep(email);
    expect((await verify(b.from, b.challenge.challengeId, codeAt(secret, t.clock.now! + STEP_MS))).data).toMatchObject({ status: "signed_in" });
  });

  it("20 concurrent wrong guesses on one challenge: exactly 5 are counted, then it is dead (even the right code is refused)", async () => {
    const { email, secret } = await withTwoFactor();
    const { from, challenge } = await passwordStep(email);
    const right = codeAt(secret, t.clock.now!);
    const wrong = (i: number) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, "0");
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => verify(from, challenge.challengeId, wrong(i))));
    const reasons = answers.map((a) => a.error?.data.reason);
    expect(reasons.filter((r) => r === "wrong_second_factor_code")).toHaveLength(SECOND_FACTOR_ATTEMPTS);
    expect(reasons.filter((r) => r === "second_factor_invalid")).toHaveLength(20 - SECOND_FACTOR_ATTEMPTS);
    expect((await verify(from, challenge.challengeId, right)).error?.data.reason).toBe("second_factor_invalid");
    // The password was right: the owner is told once, when the challenge died, not for every wrong code.
    const told = (await smtp.mailsTo(t.services.mailer, email)).filter((m) => /your password was used, the code was not/.test(m.subject));
    expect(told).toHaveLength(1);
    expect(told[0]!.text).toMatch(/wrong two-factor code 5 times/);
    // A new password step gets a new challenge (and the right code, unused, still works).
    const again = await passwordStep(email, from);
    expect((await verify(from, again.challenge.challengeId, right)).data).toMatchObject({ status: "signed_in" });
  });

  it("wrong codes say how many attempts are left; every code check counts in the account throttle", async () => {
    const limited = await createTestServices({ TRUST_PROXY: "true", SESSION_LIMIT: "0", ACCOUNT_THROTTLE_AFTER: "3" });
    limited.clock.now = t.clock.now;
    try {
      const email = uniqueEmail("2fa-throttle");
      const laptop = new TestBrowser(limited.services);
      await laptop.mutation("auth.register", { email, password: PASSWORD });
      const { secret } = (await laptop.mutation<RouterOutputs["twoFactor"]["setup"]>("twoFactor.setup")).data!;
      await laptop.mutation("twoFactor.enable", { code: codeAt(secret, limited.clock.now!) });
      const phone = new TestBrowser(limited.services);
      const challenge = (await phone.mutation<Challenge>("auth.login", { email, password: PASSWORD })).data!;
      const first = await phone.mutation("auth.verifySecondFactor", { challengeId: challenge.challengeId, code: "abcde-fghjk" });
      expect(first.error?.message).toMatch(/4 attempts left/);
      await phone.mutation("auth.verifySecondFactor", { challengeId: challenge.challengeId, code: "abcde-fghjk" });
      await phone.mutation("auth.verifySecondFactor", { challengeId: challenge.challengeId, code: "abcde-fghjk" });
      // The third failure started the waiting: the next check must wait, whichever challenge it is for.
      const fourth = await phone.mutation("auth.verifySecondFactor", {
        challengeId: challenge.challengeId,
        code: codeAt(secret, limited.clock.now! + STEP_MS),
      });
      expect(fourth.error?.data.reason).toBe("too_many_failures");
      expect(fourth.error?.data.retryAfter).toBeGreaterThan(0);
      // The owner's known device counts apart: the guesses above do not keep it waiting.
      const own = (await laptop.mutation<Challenge>("auth.login", { email, password: PASSWORD })).data!;
      expect(own).toMatchObject({ status: "second_factor_required" });
      const signedIn = await laptop.mutation<Login>("auth.verifySecondFactor", {
        challengeId: own.challengeId,
        code: codeAt(secret, limited.clock.now! + STEP_MS),
      });
      expect(signedIn.data).toMatchObject({ status: "signed_in" });
      // Nor inside a session: the signed-in owner's own code checks (disable, re-authentication) count under that session.
      limited.clock.now = limited.clock.now! + 2 * STEP_MS;
      expect((await laptop.mutation("twoFactor.disable", { code: codeAt(secret, limited.clock.now) })).data).toEqual({ ok: true });
    } finally {
      await limited.close();
    }
  });

  it("the challenge expires after 5 minutes", async () => {
    const { email, secret } = await withTwoFactor();
    const { from, challenge } = await passwordStep(email);
    advance(SECOND_FACTOR_CHALLENGE_TTL_MS);
    expect((await verify(from, challenge.challengeId, codeAt(secret, t.clock.now!))).error?.data.reason).toBe("second_factor_invalid");
  });

  it("a challenge answered from another browser is refused, and not counted against its owner", async () => {
    const { email, secret } = await withTwoFactor();
    const { from, challenge } = await passwordStep(email);
    const thief = browser();
    for (let i = 0; i < 10; i++) expect((await verify(thief, challenge.challengeId, "000000")).error?.data.reason).toBe("second_factor_invalid");
    // Even with the right code, and even with the victim's cookie for another challenge id.
    expect((await verify(thief, challenge.challengeId, codeAt(secret, t.clock.now!))).error?.data.reason).toBe("second_factor_invalid");
    expect((await verify(from, challenge.challengeId, codeAt(secret, t.clock.now!))).data).toMatchObject({ status: "signed_in" });
  });

  it("a recovery code signs in once; it sends an email and writes a security event; using it again is refused", async () => {
    const { email, userId, recoveryCodes } = await withTwoFactor();
    const a = await passwordStep(email);
    // Typed loosely: upper case, spaces.
    const typed = ` ${recoveryCodes[0]!.toUpperCase().replace("-", " - ")} `;
    expect((await verify(a.from, a.challenge.challengeId, typed)).data).toMatchObject({ status: "signed_in" });
    const mail = await smtp.mailTo(t.services.mailer, email, /a recovery code was used/);
    expect(mail.text).toMatch(/9 unused codes remain/);
    const event = await t.services.db.securityEvent.findFirst({ where: { userId, type: "recovery_code_used" } });
    expect(event?.detail).toEqual({ recoveryCodesLeft: 9 });
    expect((await a.from.query("twoFactor.status")).data).toMatchObject({ recoveryCodesLeft: 9 });
    const b = await passwordStep(email);
    expect((await verify(b.from, b.challenge.challengeId, recoveryCodes[0]!)).error?.data.reason).toBe("wrong_second_factor_code");
  });

  it("one recovery code raced from two browsers signs in exactly one of them", async () => {
    const { email, recoveryCodes } = await withTwoFactor();
    const steps = await Promise.all(Array.from({ length: 6 }, () => passwordStep(email)));
    const answers = await Promise.all(steps.map((s) => verify(s.from, s.challenge.challengeId, recoveryCodes[1]!)));
    expect(answers.filter((a) => a.data?.status === "signed_in")).toHaveLength(1);
    expect(answers.filter((a) => a.error?.data.reason === "wrong_second_factor_code")).toHaveLength(5);
  });

  it("order for a new device: password, then the second factor, then new-device approval", async () => {
    const approvals = await createTestServices({ TRUST_PROXY: "true", SESSION_LIMIT: "0", NEW_DEVICE_APPROVAL: "true" });
    approvals.clock.now = t.clock.now;
    try {
      const email = uniqueEmail("2fa-approval");
      const laptop = new TestBrowser(approvals.services);
      await laptop.mutation("auth.register", { email, password: PASSWORD });
      const { secret } =
        (await approvals.services.db.user.findFirstOrThrow({ where: { email } }),
        (await laptop.mutation<RouterOutputs["twoFactor"]["setup"]>("twoFactor.setup")).data!);
      await laptop.mutation("twoFactor.enable", { code: codeAt(secret, approvals.clock.now!) });
      const phone = new TestBrowser(approvals.services, { userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)" });
      const first = await phone.mutation<Login>("auth.login", { email, password: PASSWORD });
      expect(first.data).toMatchObject({ status: "second_factor_required" });
      const second = await phone.mutation<Login>("auth.verifySecondFactor", {
        challengeId: (first.data as Challenge).challengeId,
        code: codeAt(secret, approvals.clock.now! + STEP_MS),
      });
      expect(second.data).toMatchObject({ status: "approval_required" });
      expect((await phone.query("auth.me")).error?.data.reason).toBe("not_signed_in");
    } finally {
      await approvals.close();
    }
  });

  it("an emergency lockout between the password and the code ends that sign-in; lockout leaves two-factor on", async () => {
    const { email, laptop, secret } = await withTwoFactor();
    const { from, challenge } = await passwordStep(email);
    expect((await laptop.mutation("sessions.lockout", { password: PASSWORD })).error).toBeUndefined();
    expect((await verify(from, challenge.challengeId, codeAt(secret, t.clock.now!))).error?.data.reason).toBe("sessions_ended");
    const again = await passwordStep(email);
    expect((await verify(again.from, again.challenge.challengeId, codeAt(secret, t.clock.now! + STEP_MS))).data).toMatchObject({ status: "signed_in" });
  });

  it("a password reset does not turn two-factor off", async () => {
    const { email, secret } = await withTwoFactor();
    await browser().mutation("account.requestPasswordReset", { email });
    const token = linkToken(await smtp.mailTo(t.services.mailer, email, /reset your password/), "reset");
    expect((await browser().mutation("account.resetPassword", { token, newPassword: NEW_PASSWORD })).error).toBeUndefined();
    const { from, challenge } = await passwordStep(email, browser(), NEW_PASSWORD);
    expect((await verify(from, challenge.challengeId, codeAt(secret, t.clock.now!))).data).toMatchObject({ status: "signed_in" });
  });

  it("disable needs a current code; afterwards the password alone signs in and the rows are gone", async () => {
    const { email, laptop, userId, secret } = await withTwoFactor();
    expect((await laptop.mutation("twoFactor.disable", { code: "12345" })).error?.data.reason).toBe("wrong_second_factor_code");
    expect((await laptop.mutation("twoFactor.disable", { code: codeAt(secret, t.clock.now!) })).data).toEqual({ ok: true });
    expect(await t.services.db.twoFactor.count({ where: { userId } })).toBe(0);
    expect(await t.services.db.recoveryCode.count({ where: { userId } })).toBe(0);
    expect((await browser().mutation<Login>("auth.login", { email, password: PASSWORD })).data).toMatchObject({ status: "signed_in" });
    expect((await laptop.mutation("twoFactor.disable", { code: codeAt(secret, t.clock.now! + STEP_MS) })).error?.data.reason).toBe("two_factor_not_enabled");
  });

  it("with two-factor on, re-authentication needs the password and a code: a cookie plus the password cannot mint lasting access", async () => {
    const { email, laptop, userId, secret, recoveryCodes } = await withTwoFactor();
    advance(t.services.config.reauthMs + 1000);
    const failuresBefore = await t.services.db.securityEvent.count({ where: { userId, type: "reauth_failed" } });
    // The password alone is refused before it is checked (no guess spent), and leaves the session stale.
    const alone = await laptop.mutation("account.reauthenticate", { password: PASSWORD });
    expect(alone.error?.data).toMatchObject({ code: "BAD_REQUEST", reason: "second_factor_code_required" });
    const wrongAlone = await laptop.mutation("account.reauthenticate", { password: "not the password at all" });
    expect(wrongAlone.error?.data.reason).toBe("second_factor_code_required");
    expect(await t.services.db.securityEvent.count({ where: { userId, type: "reauth_failed" } })).toBe(failuresBefore);
    for (const path of ["twoFactor.regenerateRecoveryCodes", "passkeys.registrationOptions", "tokens.issueFromSession"] as const)
      expect((await laptop.mutation(path, path === "tokens.issueFromSession" ? { deviceName: "CLI" } : undefined)).error?.data.reason, path).toBe(
        "reauth_required",
      );
    // A wrong code with the right password: refused, still stale.
    const wrongCode = await laptop.mutation("account.reauthenticate", { password: PASSWORD, code: "000000" });
    expect(wrongCode.error?.data.reason).toBe("wrong_second_factor_code");
    expect((await laptop.mutation("twoFactor.regenerateRecoveryCodes")).error?.data.reason).toBe("reauth_required");
    // A wrong password with the right code: refused, and the code is not spent.
    const code = codeAt(secret, t.clock.now!);
    expect((await laptop.mutation("account.reauthenticate", { password: "not the password at all", code })).error?.data.reason).toBe("wrong_password");
    // Both: fresh. The code is then spent (replay refused).
    expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD, code })).data).toMatchObject({ ok: true });
    expect((await laptop.mutation("twoFactor.regenerateRecoveryCodes")).error).toBeUndefined();
    advance(t.services.config.reauthMs + 1000);
    expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD, code })).error?.data.reason).toBe("wrong_second_factor_code");
    // A recovery code works too (one of the codes regenerated above: the first ones were replaced), once, reported like at sign-in.
    expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD, code: recoveryCodes[0]! })).error?.data.reason).toBe(
      "wrong_second_factor_code",
    );
    const codes = await t.services.db.recoveryCode.count({ where: { userId, usedAt: null } });
    expect(codes).toBe(10);
    advance(STEP_MS);
    expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD, code: codeAt(secret, t.clock.now!) })).data).toMatchObject({ ok: true });
    const regenerated = (await laptop.mutation<RouterOutputs["twoFactor"]["regenerateRecoveryCodes"]>("twoFactor.regenerateRecoveryCodes")).data!.recoveryCodes;
    advance(t.services.config.reauthMs + 1000);
    expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD, code: regenerated[0]! })).data).toMatchObject({ ok: true });
    expect((await laptop.mutation("twoFactor.regenerateRecoveryCodes")).error).toBeUndefined();
    const used = await t.services.db.securityEvent.findFirst({ where: { userId, type: "recovery_code_used" }, orderBy: { createdAt: "desc" } });
    expect(used?.detail).toEqual({ recoveryCodesLeft: 9 });
    await smtp.mailTo(t.services.mailer, email, /a recovery code was used/);
    // Changing the password takes a code too (it could sign the owner out everywhere); with both it is a fresh authentication.
    advance(STEP_MS + t.services.config.reauthMs + 1000);
    const change = { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, signOutOtherSessions: false };
    expect((await laptop.mutation("account.changePassword", change)).error?.data.reason).toBe("second_factor_code_required");
    expect((await laptop.mutation("account.changePassword", { ...change, code: "000000" })).error?.data.reason).toBe("wrong_second_factor_code");
    expect((await laptop.mutation("twoFactor.regenerateRecoveryCodes")).error?.data.reason).toBe("reauth_required");
    const changed = await laptop.mutation("account.changePassword", { ...change, code: codeAt(secret, t.clock.now!) });
    expect(changed.error).toBeUndefined();
    expect((await laptop.mutation("twoFactor.regenerateRecoveryCodes")).error).toBeUndefined();
    // Without two-factor the password alone is enough, as before.
    const plain = browser();
    await plain.mutation("auth.register", { email: uniqueEmail("no-2fa"), password: PASSWORD });
    advance(t.services.config.reauthMs + 1000);
    expect((await plain.mutation("account.reauthenticate", { password: PASSWORD })).data).toMatchObject({ ok: true });
  });

  it("turning it off from a stale session takes one code: the one that re-authenticated counts once more for this session only", async () => {
    const { email, laptop, userId, secret } = await withTwoFactor();
    const phone = browser();
    const challenge = (await phone.mutation<Challenge>("auth.login", { email, password: PASSWORD })).data!;
    expect((await verify(phone, challenge.challengeId, codeAt(secret, t.clock.now!))).data).toMatchObject({ status: "signed_in" });
    advance(STEP_MS + t.services.config.reauthMs + 1000);
    const code = codeAt(secret, t.clock.now!);
    expect((await laptop.mutation("twoFactor.disable", { code })).error?.data.reason).toBe("reauth_required");
    expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD, code })).data).toMatchObject({ ok: true });
    // Another session cannot give that code again (replay), even freshly authenticated itself.
    expect((await phone.mutation("account.reauthenticate", { password: PASSWORD, code })).error?.data.reason).toBe("wrong_second_factor_code");
    expect((await laptop.mutation("twoFactor.disable", { code })).data).toEqual({ ok: true });
    expect(await t.services.db.twoFactor.count({ where: { userId } })).toBe(0);
  });

  it("the re-authenticating code counts once more only once", async () => {
    const { laptop, secret } = await withTwoFactor();
    advance(t.services.config.reauthMs + 1000);
    const code = codeAt(secret, t.clock.now!);
    expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD, code })).data).toMatchObject({ ok: true });
    expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD, code })).error?.data.reason).toBe("wrong_second_factor_code");
    const wrongFirst = await laptop.mutation("twoFactor.disable", { code: "000000" === code ? "111111" : "000000" });
    expect(wrongFirst.error?.data.reason).toBe("wrong_second_factor_code");
    const [a, b] = await Promise.all([
      laptop.mutation<{ ok: true }>("twoFactor.disable", { code }),
      laptop.mutation<{ ok: true }>("twoFactor.disable", { code }),
    ]);
    expect([a, b].filter((r) => r.data?.ok === true)).toHaveLength(1);
  });

  it("a secret that no longer unseals (SESSION_SECRET changed) passes no code: re-authentication, sign-in and turning it off need a recovery code", async () => {
    const { email, laptop, userId, secret, recoveryCodes } = await withTwoFactor();
    await t.services.db.twoFactor.update({ where: { userId }, data: { sealedSecret: "sealed under another secret" } });
    advance(t.services.config.reauthMs + 1000);
    for (const code of [codeAt(secret, t.clock.now!), "000000", "anything"])
      expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD, code })).error?.data.reason, code).toBe("wrong_second_factor_code");
    expect((await laptop.mutation("twoFactor.regenerateRecoveryCodes")).error?.data.reason).toBe("reauth_required");
    const a = await passwordStep(email);
    expect((await verify(a.from, a.challenge.challengeId, codeAt(secret, t.clock.now!))).error?.data.reason).toBe("wrong_second_factor_code");
    expect((await verify(a.from, a.challenge.challengeId, recoveryCodes[0]!)).data).toMatchObject({ status: "signed_in" });
    expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD, code: recoveryCodes[1]! })).data).toMatchObject({ ok: true });
    expect((await laptop.mutation("twoFactor.disable", { code: recoveryCodes[2]! })).data).toEqual({ ok: true });
    expect(await t.services.db.twoFactor.count({ where: { userId } })).toBe(0);
  });

  it("recovery codes are stored keyed (HMAC under a key from SESSION_SECRET), not as a plain hash; codes stored the earlier way still work once", async () => {
    const { email, userId, recoveryCodes } = await withTwoFactor();
    const stored = await t.services.db.recoveryCode.findMany({ where: { userId }, select: { codeHash: true } });
    const plainHash = (code: string) =>
      crypto
        .createHash("sha256")
        .update(`recovery:${code.replace("-", "")}`)
        .digest("hex");
    expect(stored.map((r) => r.codeHash)).not.toContain(plainHash(recoveryCodes[0]!));
    const key = Buffer.from(crypto.hkdfSync("sha256", t.env.SESSION_SECRET, "handoff", "hmac:recovery code", 32));
    const keyed = (code: string) => crypto.createHmac("sha256", key).update(code.replace("-", "")).digest("hex");
    expect(stored.map((r) => r.codeHash).sort()).toEqual(recoveryCodes.map(keyed).sort());
    // A code from before the change, as it was stored then.
    const legacy = "abcde-fghjk";
    await t.services.db.recoveryCode.create({ data: { userId, codeHash: plainHash(legacy) } });
    const a = await passwordStep(email);
    expect((await verify(a.from, a.challenge.challengeId, legacy)).data).toMatchObject({ status: "signed_in" });
    const b = await passwordStep(email);
    expect((await verify(b.from, b.challenge.challengeId, legacy)).error?.data.reason).toBe("wrong_second_factor_code");
  });

  it("regenerating recovery codes replaces them: the old ones stop working", async () => {
    const { email, laptop, recoveryCodes } = await withTwoFactor();
    const fresh = (await laptop.mutation<RouterOutputs["twoFactor"]["regenerateRecoveryCodes"]>("twoFactor.regenerateRecoveryCodes")).data!.recoveryCodes;
    expect(fresh).toHaveLength(10);
    const a = await passwordStep(email);
    expect((await verify(a.from, a.challenge.challengeId, recoveryCodes[2]!)).error?.data.reason).toBe("wrong_second_factor_code");
    expect((await verify(a.from, a.challenge.challengeId, fresh[0]!)).data).toMatchObject({ status: "signed_in" });
  });

  it("changes need fresh authentication", async () => {
    const { laptop } = await withTwoFactor();
    advance(t.services.config.reauthMs + 1000);
    for (const [path, input] of [
      ["twoFactor.setup", undefined],
      ["twoFactor.disable", { code: "123456" }],
      ["twoFactor.regenerateRecoveryCodes", undefined],
    ] as const)
      expect((await laptop.mutation(path, input)).error?.data.reason, path).toBe("reauth_required");
  });

  it("tokens.issue answers second_factor_required; tokens.verifySecondFactor with the same deviceKey issues the tokens, another deviceKey is refused", async () => {
    const { email, secret } = await withTwoFactor();
    const cli = new TestBrowser(t.services, { origin: null });
    const first = await cli.mutation<Issue>("tokens.issue", { email, password: PASSWORD, deviceName: "CLI" });
    expect(first.data).toMatchObject({ status: "second_factor_required" });
    const challenge = first.data as Extract<Issue, { status: "second_factor_required" }>;
    expect(challenge.deviceKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const code = codeAt(secret, t.clock.now!);
    const otherKey = "B".repeat(43);
    const stolen = await cli.mutation("tokens.verifySecondFactor", { challengeId: challenge.challengeId, code, deviceKey: otherKey });
    expect(stolen.error?.data.reason).toBe("second_factor_invalid");
    const done = await cli.mutation<Issue>("tokens.verifySecondFactor", {
      challengeId: challenge.challengeId,
      code,
      deviceKey: challenge.deviceKey,
      deviceName: "CLI",
    });
    expect(done.data).toMatchObject({ status: "issued", deviceKey: challenge.deviceKey });
    const issued = done.data as Extract<Issue, { status: "issued" }>;
    const me = await new TestBrowser(t.services, { origin: null, headers: { authorization: `Bearer ${issued.accessToken}` } }).query<
      RouterOutputs["auth"]["me"]
    >("auth.me");
    expect(me.data?.session.method).toBe("token");
  });

  it("account deletion removes the two-factor rows; the data export says whether it is on and how many codes are left, never the secret", async () => {
    const { laptop, userId, secret, recoveryCodes } = await withTwoFactor();
    const exported = await laptop.mutation<RouterOutputs["account"]["exportData"]>("account.exportData");
    expect(exported.data?.twoFactor).toMatchObject({ enabled: true, recoveryCodesLeft: 10 });
    const text = JSON.stringify(exported.data);
    expect(text).not.toContain(secret);
    for (const code of recoveryCodes) expect(text).not.toContain(code);
    // A cookie plus the password cannot delete the account: the code is asked first, then checked.
    expect((await laptop.mutation("account.delete", { password: PASSWORD })).error?.data.reason).toBe("second_factor_code_required");
    expect((await laptop.mutation("account.delete", { password: PASSWORD, code: "000000" })).error?.data.reason).toBe("wrong_second_factor_code");
    expect(await t.services.db.user.count({ where: { id: userId } })).toBe(1);
    expect((await laptop.mutation("account.delete", { password: PASSWORD, code: codeAt(secret, t.clock.now!) })).error).toBeUndefined();
    expect(await t.services.db.twoFactor.count({ where: { userId } })).toBe(0);
    expect(await t.services.db.recoveryCode.count({ where: { userId } })).toBe(0);
  });
});
