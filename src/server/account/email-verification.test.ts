import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catchUpVerification } from "~/server/account/account-status";
import { randomToken } from "~/server/platform/crypto";
import { sessionKey } from "~/server/sessions/store";
import { LONDON, PASSWORD } from "~/test/fixtures";
import { clearOfMinuteBoundary, createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { linkToken, startSmtp } from "~/test/smtp";
import type { RouterOutputs } from "~/trpc/types";

type Me = RouterOutputs["auth"]["me"];

describe("email verification (real PostgreSQL, Redis and SMTP)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const browser = (services = t.services) => new TestBrowser(services, { headers: { "x-forwarded-for": LONDON } });

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await createTestServices({
      TRUST_PROXY: "true",
      SMTP_URL: smtp.url,
      SESSION_LIMIT: "0",
      ACCOUNT_MAIL_RATE_LIMIT: "1000",
      ACCOUNT_LINK_RATE_LIMIT: "1000",
    });
  });
  afterAll(async () => {
    await t.services.mailer.flush();
    await t.close();
    await smtp.close();
  });

  async function account(services = t.services) {
    const email = uniqueEmail("verify");
    const laptop = browser(services);
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    expect(reg.status).toBe(200);
    return { email, laptop, userId: reg.data!.user.id };
  }
  const verifyLink = async (email: string) => linkToken(await smtp.mailTo(t.services.mailer, email, /confirm your email address/), "verify");

  it("registration mails a link; opening it (signed in or not) verifies the address; auth.me says so", async () => {
    const { email, laptop, userId } = await account();
    expect((await laptop.query<Me>("auth.me")).data!.user).toMatchObject({ email, emailVerified: false });
    const mail = await smtp.mailTo(t.services.mailer, email, /confirm your email address/);
    expect(mail.text).toContain("works once, for 24 hours");
    const token = linkToken(mail, "verify");
    expect(token).toMatch(/^[A-Za-z0-9_-]{55}$/); // the user's hash tag, then 256 bits

    const elsewhere = new TestBrowser(t.services); // the mail opened on another device, signed out
    expect((await elsewhere.mutation("account.verifyEmail", { token })).data).toEqual({ ok: true, kind: "verified", email });
    expect((await laptop.query<Me>("auth.me")).data!.user).toMatchObject({ email, emailVerified: true });
    expect(await t.services.db.securityEvent.count({ where: { userId, type: "email_verified" } })).toBe(1);

    const again = await elsewhere.mutation("account.verifyEmail", { token });
    expect(again.error?.data).toMatchObject({ code: "BAD_REQUEST", reason: "verify_link_invalid" });
    // Verified already: resending sends nothing.
    expect((await laptop.mutation("account.resendVerification")).data).toEqual({ ok: true, alreadyVerified: true, sentTo: null });
    expect((await smtp.mailsTo(t.services.mailer, email)).filter((m) => /confirm your email/.test(m.subject))).toHaveLength(1);
  });

  it("auth.me answers from the session: every live session learns of a verification; a session from before sessions kept the flag is looked up once", async () => {
    const { email, laptop, userId } = await account();
    const phone = browser();
    expect((await phone.mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
    const phoneSession = (await phone.query<Me>("auth.me")).data!.session.id;
    await browser().mutation("account.verifyEmail", { token: await verifyLink(email) });
    for (const page of [laptop, phone]) expect((await page.query<Me>("auth.me")).data!.user).toMatchObject({ email, emailVerified: true });

    // A session written before sessions carried the flag: auth.me looks it up and writes it back.
    const key = sessionKey(t.services.redis.prefix, phoneSession);
    await t.services.redis.redis.hdel(key, "emailVerified");
    expect((await phone.query<Me>("auth.me")).data!.user).toMatchObject({ email, emailVerified: true });
    expect(String(await t.services.redis.redis.hget(key, "emailVerified"))).toBe("1");

    // A sign-in that read the row before a verification was written, opening its session after
    // the verification told the user's sessions: the catch-up read after creation repairs it.
    const late = await t.services.sessions.createSession(
      { userId, email, emailVerified: false, deviceId: crypto.randomUUID(), ip: "203.0.113.9", method: "password" },
      { limit: 0, policy: "evict-oldest" },
    );
    await catchUpVerification(t.services, userId);
    expect((await t.services.sessions.validateSessionToken(late.token))?.emailVerified).toBe(true);
  });

  it("a resent link voids the previous one; expired and forged links are refused", async () => {
    const { email, laptop } = await account();
    const first = await verifyLink(email);
    expect((await laptop.mutation("account.resendVerification")).data).toEqual({ ok: true, alreadyVerified: false, sentTo: email });
    await t.services.mailer.flush();
    const second = await verifyLink(email);
    expect(second).not.toBe(first);
    const verify = (token: string) => browser().mutation("account.verifyEmail", { token });
    expect((await verify(first)).error?.data.reason).toBe("verify_link_invalid");
    for (const forged of [randomToken(32), "", "x".repeat(43), `${second}=`]) expect((await verify(forged)).error?.data.code).toBe("BAD_REQUEST");

    t.clock.now = Date.now() + t.services.policy.links.emailVerificationTtlMs + 1000;
    try {
      const expired = await verify(second);
      expect(expired.error?.data.reason).toBe("verify_link_invalid");
      expect(expired.error?.message).toMatch(/expired/);
    } finally {
      t.clock.now = undefined;
    }
    expect((await laptop.query<Me>("auth.me")).data!.user.emailVerified).toBe(false);
  });

  it("a reset link's token is no verification link, nor the other way round", async () => {
    const { email } = await account();
    const verifyToken = await verifyLink(email);
    expect((await browser().mutation("account.resetPassword", { token: verifyToken, newPassword: "another passphrase" })).error?.data.reason).toBe(
      "reset_link_invalid",
    );
    await browser().mutation("account.requestPasswordReset", { email });
    const resetToken = linkToken(await smtp.mailTo(t.services.mailer, email, /reset your password/), "reset");
    expect((await browser().mutation("account.verifyEmail", { token: resetToken })).error?.data.reason).toBe("verify_link_invalid");
    // Neither was used up by the wrong door.
    expect((await browser().mutation("account.verifyEmail", { token: verifyToken })).status).toBe(200);
    expect((await browser().mutation("account.resetPassword", { token: resetToken, newPassword: "another passphrase" })).status).toBe(200);
  });

  it("ten concurrent uses of one link: exactly one succeeds", async () => {
    const { email } = await account();
    const token = await verifyLink(email);
    const results = await Promise.all(Array.from({ length: 10 }, () => browser().mutation("account.verifyEmail", { token })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.error?.data.reason === "verify_link_invalid")).toHaveLength(9);
  });

  it("resendVerification is limited per user", async () => {
    const limited = await createTestServices({ SMTP_URL: smtp.url, ACCOUNT_MAIL_RATE_LIMIT: "2" });
    try {
      await clearOfMinuteBoundary();
      const { laptop } = await account(limited.services);
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await laptop.mutation("account.resendVerification"));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
      expect(answers[2]!.error?.data).toMatchObject({ reason: "rate_limited" });
    } finally {
      await limited.services.mailer.flush();
      await limited.close();
    }
  });

  it("EMAIL_VERIFICATION=required: an unverified account signs in, but sensitive actions answer FORBIDDEN email_unverified until it verifies", async () => {
    const required = await createTestServices({ TRUST_PROXY: "true", SMTP_URL: smtp.url, EMAIL_VERIFICATION: "required", SESSION_LIMIT: "0" });
    try {
      const { email, laptop } = await account(required.services);
      const phone = browser(required.services);
      expect((await phone.mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
      const phoneDevice = (await phone.query<{ id: string }>("devices.current")).data!.id;

      const refused = [
        await laptop.mutation("account.changePassword", { currentPassword: PASSWORD, newPassword: "another passphrase" }),
        await laptop.mutation("devices.forget", { deviceId: phoneDevice }),
        await laptop.mutation("handoff.offer"),
        await laptop.mutation("tokens.issueFromSession", { deviceName: "Companion" }),
      ];
      for (const res of refused) expect(res.error?.data).toMatchObject({ code: "FORBIDDEN", reason: "email_unverified" });
      // What an unverified account can still do: read its own state, resend, end sessions.
      expect((await laptop.query("sessions.list")).status).toBe(200);
      expect((await laptop.mutation("account.resendVerification")).data).toMatchObject({ alreadyVerified: false, sentTo: email });
      expect((await laptop.mutation("sessions.revokeOthers")).data).toEqual({ count: 1 });

      const token = linkToken(await smtp.mailTo(required.services.mailer, email, /confirm your email address/), "verify");
      expect((await laptop.mutation("account.verifyEmail", { token })).status).toBe(200);
      expect((await laptop.mutation("handoff.offer")).status).toBe(200);
      expect((await laptop.mutation("account.changePassword", { currentPassword: PASSWORD, newPassword: "another passphrase" })).status).toBe(200);
    } finally {
      await required.services.mailer.flush();
      await required.close();
    }
  });

  it("EMAIL_VERIFICATION=optional (the default): an unverified account uses everything", async () => {
    const { laptop } = await account();
    expect((await laptop.mutation("handoff.offer")).status).toBe(200);
    expect((await laptop.mutation("account.changePassword", { currentPassword: PASSWORD, newPassword: "another passphrase" })).status).toBe(200);
  });
});
