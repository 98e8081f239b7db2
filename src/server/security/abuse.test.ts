import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEnv } from "~/env";
import { FIREFOX_LINUX, IPHONE, LONDON, PASSWORD, SYDNEY } from "~/test/fixtures";
import { clearOfMinuteBoundary, createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { startSmtp, type ReceivedMail as Received } from "~/test/smtp";
import type { RouterOutputs } from "~/trpc/types";

const LONDON_OTHER = "81.2.69.160";
const NEW_PASSWORD = "a completely different passphrase";

describe("abuse protection: email alerts, suspicious sign-ins, password change, fresh authentication", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const browser = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await createTestServices({
      TRUST_PROXY: "true",
      SMTP_URL: smtp.url,
      MAIL_FROM: "Handoff <security@handoff.test>",
      SESSION_LIMIT: "0",
      REAUTH_MINUTES: "10",
    });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  async function mailTo(email: string, subject: RegExp): Promise<Received> {
    await t.services.mailer.flush();
    for (let i = 0; i < 50; i++) {
      const found = smtp.inbox.find((m) => m.to === email && subject.test(m.subject));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no mail "${subject}" to ${email}; got ${JSON.stringify(smtp.inbox.filter((m) => m.to === email).map((m) => m.subject))}`);
  }
  // Security alerts only: registration's verification link (account/email-verification.ts) is not one.
  const mailsTo = async (email: string) => {
    await t.services.mailer.flush();
    return smtp.inbox.filter((m) => m.to === email && m.subject !== "Handoff: confirm your email address");
  };

  async function account(ip = LONDON) {
    const email = uniqueEmail();
    const laptop = browser(ip);
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    return { email, laptop, userId: reg.data!.user.id };
  }

  it("a sign-in on a new device in a known country: an email, no warning; registering sends none", async () => {
    const { email } = await account();
    const phone = browser(LONDON_OTHER, IPHONE);
    const res = await phone.mutation<RouterOutputs["auth"]["login"]>("auth.login", { email, password: PASSWORD });
    expect(res.data).toMatchObject({ status: "signed_in" });
    expect(res.data).not.toHaveProperty("warning");
    const mail = await mailTo(email, /new sign-in on a new device/);
    expect(mail.subject).toBe("Handoff: new sign-in on a new device");
    expect(mail.text).toContain("Device: Mobile Safari on iOS 17");
    expect(mail.text).toContain(`IP ${LONDON_OTHER}`);
    expect(mail.text).toContain("London, United Kingdom");
    expect(mail.text).toContain("Sign out everywhere");
    expect((await mailsTo(email)).map((m) => m.subject)).toEqual(["Handoff: new sign-in on a new device"]);
  });

  it("impossible travel: flagged in the result, the history, the other devices' live feed and by email", async () => {
    const { email, laptop } = await account(LONDON);
    const feed = (await (await laptop.caller()).sessions.onEvent())[Symbol.asyncIterator]();
    const nextEvent = async () => {
      const { value } = await feed.next();
      return (Array.isArray(value) ? value[1] : value) as { type: string; warning?: string };
    };
    const first = nextEvent();
    await new Promise((r) => setTimeout(r, 100));
    const sydney = browser(SYDNEY, FIREFOX_LINUX);
    const res = await sydney.mutation<RouterOutputs["auth"]["login"]>("auth.login", { email, password: PASSWORD });
    expect(res.data).toMatchObject({
      status: "signed_in",
      warning: {
        reason: "impossible_travel",
        message: expect.stringMatching(/Sydney, Australia, 1[67],\d{3} km from the previous sign-in \(London, United Kingdom\) 1 min earlier/),
      },
    });
    const event = await first;
    expect(event).toMatchObject({ type: "signed_in", warning: expect.stringContaining("faster than any flight") });
    await feed.return?.();
    const history = (await laptop.query<RouterOutputs["sessions"]["history"]>("sessions.history")).data!;
    expect(history.items[0]).toMatchObject({ outcome: "success", suspicious: "impossible_travel", location: "Sydney, Australia" });
    const mail = await mailTo(email, /suspicious sign-in/);
    expect(mail.text).toContain("faster than any flight");
    expect(mail.text).toContain("Device: Firefox on Linux");
    // One mail for it, not a second "new device" one.
    expect((await mailsTo(email)).map((m) => m.subject)).toEqual(["Handoff: suspicious sign-in"]);
  });

  it("a new device in a new country, days later (possible travel): flagged as new_device_new_country; a known device abroad is not", async () => {
    const { email, userId, laptop } = await account(LONDON);
    // The last sign-in was three days ago, so London -> Sydney is not impossible travel.
    await t.services.db.loginEvent.updateMany({ where: { userId }, data: { createdAt: new Date(Date.now() - 3 * 86_400_000) } });
    const res = await browser(SYDNEY, FIREFOX_LINUX).mutation<RouterOutputs["auth"]["login"]>("auth.login", { email, password: PASSWORD });
    expect(res.data).toMatchObject({
      warning: { reason: "new_device_new_country", message: "Signed in from a new device in Australia, a country this account never signed in from before." },
    });
    // The laptop itself travels (its device cookie), days later: not suspicious.
    await t.services.db.loginEvent.updateMany({ where: { userId }, data: { createdAt: new Date(Date.now() - 3 * 86_400_000) } });
    laptop.headers["x-forwarded-for"] = "1.0.0.1";
    const travelled = await laptop.mutation<RouterOutputs["auth"]["login"]>("auth.login", { email, password: PASSWORD });
    expect(travelled.data).toMatchObject({ status: "signed_in" });
    expect(travelled.data).not.toHaveProperty("warning");
  });

  it("throttling and emergency lockout are emailed to the owner", async () => {
    const { email, laptop } = await account();
    for (let i = 0; i < 5; i++) await browser(SYDNEY, FIREFOX_LINUX).mutation("auth.login", { email, password: "wrong" });
    const throttled = await mailTo(email, /failed sign-ins/);
    expect(throttled.text).toContain("5 sign-in attempts with a wrong password");
    expect(throttled.text).toContain("Sydney, Australia");
    // The owner's lockout is throttled per session, not by the guesser's failures.
    expect((await laptop.mutation("sessions.lockout", { password: PASSWORD })).status).toBe(200);
    expect((await mailTo(email, /all sessions signed out/)).text).toContain("1 session was signed out");
  });

  it("account.changePassword: the current password is required, the new one follows the rules, other sessions end when asked", async () => {
    const { email, laptop } = await account();
    const phone = browser(LONDON_OTHER, IPHONE);
    await phone.mutation("auth.login", { email, password: PASSWORD });
    const cli = new TestBrowser(t.services, { origin: null, userAgent: "cli", headers: { "x-forwarded-for": LONDON } });
    const tokens = (await cli.mutation<{ accessToken: string }>("tokens.issue", { email, password: PASSWORD, deviceName: "CLI" })).data!;

    const wrong = await laptop.mutation("account.changePassword", { currentPassword: "nope", newPassword: NEW_PASSWORD, signOutOtherSessions: true });
    expect(wrong.error).toMatchObject({ message: "Wrong password.", data: { code: "BAD_REQUEST", reason: "wrong_password" } });
    const weak = await laptop.mutation("account.changePassword", { currentPassword: PASSWORD, newPassword: "short", signOutOtherSessions: true });
    expect(weak.error).toMatchObject({ data: { code: "BAD_REQUEST", fieldErrors: { newPassword: ["Password must be at least 8 characters"] } } });
    const same = await laptop.mutation("account.changePassword", { currentPassword: PASSWORD, newPassword: PASSWORD, signOutOtherSessions: true });
    expect(same.error?.message).toBe("The new password must differ from the current one.");

    const changed = await laptop.mutation("account.changePassword", { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, signOutOtherSessions: true });
    expect(changed.data).toEqual({ ok: true, signedOutSessions: 2 });
    expect((await laptop.query("auth.me")).status).toBe(200);
    expect((await phone.query("auth.me")).status).toBe(401);
    cli.headers.authorization = `Bearer ${tokens.accessToken}`;
    expect((await cli.query("auth.me")).status).toBe(401);
    expect((await browser(LONDON).mutation("auth.login", { email, password: PASSWORD })).status).toBe(401);
    expect((await browser(LONDON).mutation("auth.login", { email, password: NEW_PASSWORD })).status).toBe(200);
    expect((await mailTo(email, /password was changed/)).text).toContain("2 other sessions were signed out");

    // Without signing others out, they stay.
    const other = browser(LONDON_OTHER, IPHONE);
    await other.mutation("auth.login", { email, password: NEW_PASSWORD });
    expect(
      (await laptop.mutation("account.changePassword", { currentPassword: NEW_PASSWORD, newPassword: PASSWORD, signOutOtherSessions: false })).data,
    ).toEqual({ ok: true, signedOutSessions: 0 });
    expect((await other.query("auth.me")).status).toBe(200);
  });

  it("forgetting a device and approving a handoff need the password entered in the last 10 minutes (FORBIDDEN reauth_required)", async () => {
    const { laptop } = await account();
    const start = Date.now();
    try {
      t.clock.now = start + 11 * 60_000;
      const device = (await laptop.query<{ id: string }>("devices.current")).data!;
      const forget = await laptop.mutation("devices.forget", { deviceId: device.id });
      expect(forget.error).toMatchObject({
        data: { code: "FORBIDDEN", reason: "reauth_required" },
        message: "For your security, enter your password again to do this.",
      });

      const desk = browser(SYDNEY, FIREFOX_LINUX);
      const started = (await desk.mutation<{ qrUrl: string }>("handoff.start")).data!;
      const token = started.qrUrl.split("/").pop()!;
      expect((await laptop.mutation("handoff.inspect", { token })).status).toBe(200);
      expect((await laptop.mutation("handoff.approve", { token })).error).toMatchObject({ data: { code: "FORBIDDEN", reason: "reauth_required" } });

      expect((await laptop.mutation("account.reauthenticate", { password: "wrong" })).error).toMatchObject({
        data: { code: "BAD_REQUEST" },
        message: "Wrong password.",
      });
      expect((await laptop.mutation("account.reauthenticate", { password: PASSWORD })).status).toBe(200);
      expect((await laptop.mutation("handoff.approve", { token })).status).toBe(200);
      t.clock.now = start + 20 * 60_000;
      expect((await laptop.mutation("devices.forget", { deviceId: device.id })).status).toBe(200);
    } finally {
      t.clock.now = undefined;
    }
  });

  it("a session opened by QR (no password on that device) must enter the password before sensitive actions", async () => {
    const { laptop } = await account();
    const desk = browser(LONDON_OTHER, FIREFOX_LINUX);
    const started = (await desk.mutation<{ id: string; qrUrl: string }>("handoff.start")).data!;
    const token = started.qrUrl.split("/").pop()!;
    await laptop.mutation("handoff.inspect", { token });
    expect((await laptop.mutation("handoff.approve", { token })).status).toBe(200);
    expect((await desk.mutation("handoff.complete", { id: started.id })).status).toBe(200);
    const device = (await desk.query<{ id: string }>("devices.current")).data!;
    expect((await desk.mutation("devices.forget", { deviceId: device.id })).error?.data.reason).toBe("reauth_required");
  });

  it("reauthentication is throttled (per session), so a stolen session cannot guess the password", async () => {
    const { laptop } = await account();
    for (let i = 0; i < 5; i++) expect((await laptop.mutation("account.reauthenticate", { password: `guess ${i}` })).status).toBe(400);
    const sixth = await laptop.mutation("account.reauthenticate", { password: PASSWORD });
    expect(sixth.error).toMatchObject({ data: { code: "TOO_MANY_REQUESTS", retryAfter: expect.any(Number) } });
  });
});

describe("email configuration", () => {
  it("without SMTP, development mail goes to the outbox that /dev/outbox shows", async () => {
    const t = await createTestServices({ SMTP_URL: "" });
    try {
      expect(t.services.mailer.mode).toBe("outbox");
      const email = uniqueEmail();
      await new TestBrowser(t.services).mutation("auth.register", { email, password: PASSWORD });
      await new TestBrowser(t.services, { userAgent: IPHONE }).mutation("auth.login", { email, password: PASSWORD });
      await t.services.mailer.flush();
      const outbox = await t.services.mailer.outbox();
      expect(outbox[0]).toMatchObject({ to: email, subject: "Handoff: new sign-in on a new device", from: "Handoff <no-reply@localhost>" });
    } finally {
      await t.close();
    }
  });

  it("production refuses to start without SMTP unless email is disabled explicitly", () => {
    const base = { NODE_ENV: "production", SESSION_SECRET: "x".repeat(40) };
    expect(() => parseEnv(base)).toThrow(/SMTP_URL must be set in production/);
    expect(() => parseEnv({ ...base, MAIL_ENABLED: "false" })).not.toThrow();
    expect(() => parseEnv({ ...base, SMTP_URL: "smtps://user:pass@smtp.example.com:465" })).not.toThrow();
    expect(() => parseEnv({ ...base, SMTP_URL: "http://nope" })).toThrow(/SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL/);
  });

  it("registration is rate limited per IP", async () => {
    const t = await createTestServices({ REGISTER_RATE_LIMIT: "2", TRUST_PROXY: "true" });
    try {
      await clearOfMinuteBoundary();
      const from = () => new TestBrowser(t.services, { headers: { "x-forwarded-for": SYDNEY } });
      expect((await from().mutation("auth.register", { email: uniqueEmail(), password: PASSWORD })).status).toBe(200);
      expect((await from().mutation("auth.register", { email: uniqueEmail(), password: PASSWORD })).status).toBe(200);
      const third = await from().mutation("auth.register", { email: uniqueEmail(), password: PASSWORD });
      expect(third.error).toMatchObject({
        data: { code: "TOO_MANY_REQUESTS" },
        message: expect.stringMatching(/^Too many accounts created from your network\. Try again in \d+ s\.$/),
      });
    } finally {
      await t.close();
    }
  });
});
