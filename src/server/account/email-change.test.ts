import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LONDON, PASSWORD } from "~/test/fixtures";
import { sessionKey } from "~/server/sessions/store";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { linkToken, startSmtp } from "~/test/smtp";
import type { RouterOutputs } from "~/trpc/types";

type Me = RouterOutputs["auth"]["me"];

describe("change of email address (real PostgreSQL, Redis and SMTP)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const browser = () => new TestBrowser(t.services, { headers: { "x-forwarded-for": LONDON } });

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await createTestServices({ TRUST_PROXY: "true", SMTP_URL: smtp.url, SESSION_LIMIT: "0", ACCOUNT_MAIL_RATE_LIMIT: "1000" });
  });
  afterAll(async () => {
    await t.services.mailer.flush();
    await t.close();
    await smtp.close();
  });

  async function account() {
    const email = uniqueEmail("old");
    const laptop = browser();
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    return { email, laptop, userId: reg.data!.user.id };
  }

  it("a link to the new address, the old one told (masked); the switch happens only when the link is opened", async () => {
    const { email, laptop, userId } = await account();
    const newEmail = uniqueEmail("new");
    const asked = await laptop.mutation<{ pendingEmail: string; expiresAt: Date }>("account.changeEmail", { newEmail: ` ${newEmail.toUpperCase()} ` });
    expect(asked.data).toMatchObject({ ok: true, pendingEmail: newEmail });
    expect((await laptop.query<Me>("auth.me")).data!.user.email).toBe(email); // not yet

    const told = await smtp.mailTo(t.services.mailer, email, /change of your email address was requested/);
    expect(told.text).not.toContain(newEmail);
    expect(told.text).toMatch(/n\*+@e\*+\.com/);
    const token = linkToken(await smtp.mailTo(t.services.mailer, newEmail, /confirm your new email address/), "verify");

    const opened = await new TestBrowser(t.services).mutation("account.verifyEmail", { token });
    expect(opened.data).toEqual({ ok: true, kind: "email_changed", email: newEmail });
    expect((await laptop.query<Me>("auth.me")).data!.user).toMatchObject({ email: newEmail, emailVerified: true });
    expect((await browser().mutation("auth.login", { email, password: PASSWORD })).error?.data.reason).toBe("invalid_credentials");
    expect((await browser().mutation("auth.login", { email: newEmail, password: PASSWORD })).status).toBe(200);
    expect(await smtp.mailTo(t.services.mailer, email, /your email address was changed/)).toBeTruthy();
    const types = (await t.services.db.securityEvent.findMany({ where: { userId }, orderBy: { createdAt: "asc" } })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["email_change_requested", "email_changed"]));
    expect((await new TestBrowser(t.services).mutation("account.verifyEmail", { token })).error?.data.reason).toBe("verify_link_invalid");
  });

  it("a change dies with the session that asked for it: after an emergency lockout its link no longer switches the address", async () => {
    const { email, laptop } = await account();
    const newEmail = uniqueEmail("attacker");
    // A stolen cookie (the laptop's session) asks for the change; the owner locks everything out.
    await laptop.mutation("account.changeEmail", { newEmail });
    const token = linkToken(await smtp.mailTo(t.services.mailer, newEmail, /confirm your new email address/), "verify");
    const owner = browser();
    await owner.mutation("auth.login", { email, password: PASSWORD });
    expect((await owner.mutation("sessions.lockout", { password: PASSWORD })).status).toBe(200);
    const opened = await new TestBrowser(t.services).mutation("account.verifyEmail", { token });
    expect(opened.error?.data.reason).toBe("verify_link_invalid");
    expect((await browser().mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
  });

  it("after the switch every live session carries the new address (security mail no longer goes to the old one)", async () => {
    const { email, laptop, userId } = await account();
    await browser().mutation("auth.login", { email, password: PASSWORD });
    const newEmail = uniqueEmail("new");
    await laptop.mutation("account.changeEmail", { newEmail });
    const token = linkToken(await smtp.mailTo(t.services.mailer, newEmail, /confirm your new email address/), "verify");
    expect((await new TestBrowser(t.services).mutation("account.verifyEmail", { token })).data).toMatchObject({ kind: "email_changed" });
    const sessions = await t.services.sessions.listUserSessions(userId);
    expect(sessions.length).toBe(2);
    // The list does not read the account's fields: each session's hash, as validation reads it.
    const stored = await Promise.all(sessions.map((s) => t.services.redis.raw.hget(sessionKey(t.services.redis.prefix, s.id), "email")));
    expect(stored).toEqual([newEmail, newEmail]);
  });

  it("links sent to the old address stop working once the address changed", async () => {
    const { email, laptop } = await account();
    await browser().mutation("account.requestPasswordReset", { email });
    const reset = linkToken(await smtp.mailTo(t.services.mailer, email, /reset your password/), "reset");
    const verifyOld = linkToken(await smtp.mailTo(t.services.mailer, email, /confirm your email address/), "verify");
    const newEmail = uniqueEmail("new");
    await laptop.mutation("account.changeEmail", { newEmail });
    const token = linkToken(await smtp.mailTo(t.services.mailer, newEmail, /confirm your new email address/), "verify");
    expect((await browser().mutation("account.verifyEmail", { token })).status).toBe(200);
    expect((await browser().mutation("account.resetPassword", { token: reset, newPassword: "taken over passphrase" })).error?.data.reason).toBe(
      "reset_link_invalid",
    );
    expect((await browser().mutation("account.verifyEmail", { token: verifyOld })).error?.data.reason).toBe("verify_link_invalid");
  });

  it("the same address, a taken one, or one taken before the link is opened: refused", async () => {
    const { email, laptop } = await account();
    expect((await laptop.mutation("account.changeEmail", { newEmail: email })).error?.data).toMatchObject({ code: "BAD_REQUEST", reason: "email_unchanged" });
    const other = await account();
    expect((await laptop.mutation("account.changeEmail", { newEmail: other.email })).error?.data).toMatchObject({ code: "CONFLICT", reason: "email_taken" });

    const wanted = uniqueEmail("contested");
    await laptop.mutation("account.changeEmail", { newEmail: wanted });
    const token = linkToken(await smtp.mailTo(t.services.mailer, wanted, /confirm your new email address/), "verify");
    expect((await browser().mutation("auth.register", { email: wanted, password: PASSWORD })).status).toBe(200);
    expect((await browser().mutation("account.verifyEmail", { token })).error?.data).toMatchObject({ code: "CONFLICT", reason: "email_taken" });
    expect((await laptop.query<Me>("auth.me")).data!.user.email).toBe(email);
  });

  it("needs fresh authentication (the password within REAUTH_MINUTES)", async () => {
    const { laptop } = await account();
    t.clock.now = Date.now() + t.services.config.reauthMs + 60_000;
    try {
      const stale = await laptop.mutation("account.changeEmail", { newEmail: uniqueEmail("new") });
      expect(stale.error?.data).toMatchObject({ code: "FORBIDDEN", reason: "reauth_required" });
      expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD })).status).toBe(200);
      expect((await laptop.mutation("account.changeEmail", { newEmail: uniqueEmail("new") })).status).toBe(200);
    } finally {
      t.clock.now = undefined;
    }
  });
});
