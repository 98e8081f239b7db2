import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomToken } from "~/server/platform/crypto";
import { LONDON, MOUNTAIN_VIEW, PASSWORD, SYDNEY } from "~/test/fixtures";
import { clearOfMinuteBoundary, createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { linkToken, startSmtp } from "~/test/smtp";
import { PASSWORD_RESET_MIN_ANSWER_MS } from "~/server/policy";

const NEW_PASSWORD = "a brand new passphrase for this";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe("password reset by email (real PostgreSQL, Redis and SMTP)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let ipCounter = 0;
  // A fresh public-looking IP per browser unless given, so the per-IP limits only bite where a test means them to.
  const browser = (ip = `203.0.113.${++ipCounter % 250}`) => new TestBrowser(t.services, { headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await createTestServices({
      TRUST_PROXY: "true",
      SMTP_URL: smtp.url,
      SESSION_LIMIT: "0",
      PASSWORD_RESET_RATE_LIMIT: "1000",
      PASSWORD_RESET_ADDRESS_RATE_LIMIT: "1000",
    });
  });
  afterAll(async () => {
    await t.services.mailer.flush();
    await t.close();
    await smtp.close();
  });

  async function account() {
    const email = uniqueEmail("reset");
    const laptop = browser(LONDON);
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    return { email, laptop, userId: reg.data!.user.id };
  }

  async function resetLink(email: string, from = browser()) {
    const res = await from.mutation("account.requestPasswordReset", { email });
    expect(res.data).toEqual({ ok: true });
    return linkToken(await smtp.mailTo(t.services.mailer, email, /reset your password/), "reset");
  }

  it("same answer, about the same time, for a known and an unknown address; only the known one gets a link", async () => {
    const { email } = await account();
    const unknown = uniqueEmail("nobody");
    const known: number[] = [];
    const absent: number[] = [];
    for (let i = 0; i < 5; i++) {
      for (const [address, times] of [
        [email, known],
        [unknown, absent],
      ] as const) {
        const started = performance.now();
        const res = await browser().mutation("account.requestPasswordReset", { email: address });
        times.push(performance.now() - started);
        expect(res.status).toBe(200);
        expect(res.data).toEqual({ ok: true });
      }
    }
    console.log(`requestPasswordReset: median ${median(known).toFixed(1)} ms known, ${median(absent).toFixed(1)} ms unknown`);
    expect(Math.min(...known, ...absent)).toBeGreaterThanOrEqual(PASSWORD_RESET_MIN_ANSWER_MS - 1);
    expect(Math.abs(median(known) - median(absent))).toBeLessThan(25);
    expect((await smtp.mailsTo(t.services.mailer, email)).filter((m) => /reset your password/.test(m.subject))).toHaveLength(5);
    expect(await smtp.mailsTo(t.services.mailer, unknown)).toEqual([]);
  });

  it("the mail's link sets the password; every session and token session ends; the old password stops working", async () => {
    const { email, laptop, userId } = await account();
    const phone = browser(MOUNTAIN_VIEW);
    expect((await phone.mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
    const app = await browser().mutation<{ accessToken: string; refreshToken: string }>("tokens.issue", { email, password: PASSWORD, deviceName: "CLI" });
    const bearer = new TestBrowser(t.services, { origin: null, headers: { authorization: `Bearer ${app.data!.accessToken}` } });
    expect((await bearer.query("auth.me")).status).toBe(200);

    expect((await smtp.mailsTo(t.services.mailer, email)).filter((m) => /reset/.test(m.subject))).toEqual([]); // nothing before it is asked for
    const token = await resetLink(email);
    expect(token).toMatch(/^[A-Za-z0-9_-]{55}$/); // the user's hash tag, then 256 bits
    // Only the hash is in Redis: the token itself appears in no key or value.
    const keys = await t.services.redis.redis.keys(`${t.env.REDIS_PREFIX}*`);
    expect(keys.some((k) => k.includes(token))).toBe(false);

    const stranger = browser(SYDNEY);
    const res = await stranger.mutation("account.resetPassword", { token, newPassword: NEW_PASSWORD });
    expect(res.data).toEqual({ ok: true, email });

    for (const b of [laptop, phone, bearer]) expect((await b.query("auth.me")).error?.data.code).toBe("UNAUTHORIZED");
    expect((await browser().mutation("tokens.refresh", { refreshToken: app.data!.refreshToken })).error?.data.code).toBe("UNAUTHORIZED");
    expect((await browser().mutation("auth.login", { email, password: PASSWORD })).error?.data.reason).toBe("invalid_credentials");
    expect((await browser().mutation("auth.login", { email, password: NEW_PASSWORD })).status).toBe(200);

    const user = await t.services.db.user.findUniqueOrThrow({ where: { id: userId } });
    expect(user.emailVerifiedAt).toBeInstanceOf(Date); // the link proved the address
    const event = await t.services.db.securityEvent.findFirstOrThrow({ where: { userId, type: "password_reset" } });
    expect((event.detail as { ended: string[] }).ended).toHaveLength(3);
    const feed = await t.services.events.poll(userId, "none", 0);
    expect(feed.events).toContainEqual(expect.objectContaining({ type: "revoked", reason: "password_reset" }));
    const told = await smtp.mailTo(t.services.mailer, email, /your password was reset/);
    expect(told.text).toContain("3 sessions were signed out");
  });

  it("a used, replaced, expired, forged or malformed link: BAD_REQUEST reset_link_invalid, nothing changes", async () => {
    const { email } = await account();
    const first = await resetLink(email);
    const second = await resetLink(email);
    const tryReset = (token: string) => browser().mutation("account.resetPassword", { token, newPassword: NEW_PASSWORD });

    const replaced = await tryReset(first);
    expect(replaced.error?.data).toMatchObject({ code: "BAD_REQUEST", reason: "reset_link_invalid" });
    expect(replaced.error?.message).toMatch(/newer one was sent/);
    for (const forged of [randomToken(32), "short", `${second}x`, second.toUpperCase()]) {
      expect((await tryReset(forged)).error?.data.reason).toBe("reset_link_invalid");
    }
    expect((await tryReset(second)).data).toEqual({ ok: true, email });
    expect((await tryReset(second)).error?.data.reason).toBe("reset_link_invalid"); // single use

    const third = await resetLink(email);
    t.clock.now = Date.now() + t.services.policy.links.passwordResetTtlMs + 1000;
    try {
      const expired = await tryReset(third);
      expect(expired.error?.data.reason).toBe("reset_link_invalid");
      expect(expired.error?.message).toMatch(/expired/);
    } finally {
      t.clock.now = undefined;
    }
    // Still the password the second link set.
    expect((await browser().mutation("auth.login", { email, password: NEW_PASSWORD })).status).toBe(200);
  });

  it("a weak new password is refused without using the link up", async () => {
    const { email } = await account();
    const token = await resetLink(email);
    const weak = await browser().mutation("account.resetPassword", { token, newPassword: "short" });
    expect(weak.error?.data).toMatchObject({ code: "BAD_REQUEST", reason: "invalid_input" });
    expect((await browser().mutation("account.resetPassword", { token, newPassword: NEW_PASSWORD })).status).toBe(200);
  });

  it("ten concurrent uses of one link: exactly one succeeds", async () => {
    const { email } = await account();
    const token = await resetLink(email);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => browser().mutation("account.resetPassword", { token, newPassword: `${NEW_PASSWORD} ${i}` })),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.error?.data.reason === "reset_link_invalid")).toHaveLength(9);
    const winner = results.indexOf(winners[0]!);
    expect((await browser().mutation("auth.login", { email, password: `${NEW_PASSWORD} ${winner}` })).status).toBe(200);
  });

  it("clears the account's throttling and cancels pending QR handoffs and new-device approvals", async () => {
    const approvals = await createTestServices({ TRUST_PROXY: "true", SMTP_URL: smtp.url, NEW_DEVICE_APPROVAL: "true", ACCOUNT_THROTTLE_AFTER: "3" });
    try {
      const at = (ip: string) => new TestBrowser(approvals.services, { headers: { "x-forwarded-for": ip } });
      const email = uniqueEmail("stuck");
      const laptop = at(LONDON);
      await laptop.mutation("auth.register", { email, password: PASSWORD });
      const offer = await laptop.mutation<{ id: string }>("handoff.offer");
      const newDevice = at(MOUNTAIN_VIEW);
      const asked = await newDevice.mutation<{ status: string; requestId: string }>("auth.login", { email, password: PASSWORD });
      expect(asked.data?.status).toBe("approval_required");
      // A guesser gets the account throttled.
      for (let i = 0; i < 4; i++) await at(SYDNEY).mutation("auth.login", { email, password: `wrong guess ${i}` });
      expect((await at(SYDNEY).mutation("auth.login", { email, password: "wrong again" })).error?.data.code).toBe("TOO_MANY_REQUESTS");

      await at(MOUNTAIN_VIEW).mutation("account.requestPasswordReset", { email });
      const token = linkToken(await smtp.mailTo(approvals.services.mailer, email, /reset your password/), "reset");
      expect((await newDevice.mutation("account.resetPassword", { token, newPassword: NEW_PASSWORD })).status).toBe(200);

      expect((await newDevice.mutation("approvals.complete", { requestId: asked.data!.requestId })).error?.data.code).toBe("BAD_REQUEST");
      const reset = await approvals.services.db.securityEvent.findFirstOrThrow({ where: { type: "password_reset", user: { email } } });
      expect(reset.detail).toMatchObject({ cancelledHandoffs: [offer.data!.id], cancelledApprovals: [asked.data!.requestId] });
      // Not throttled any more, and no session elsewhere: this device signs in as the first one, no approval.
      const signedIn = await newDevice.mutation<{ status: string }>("auth.login", { email, password: NEW_PASSWORD });
      expect(signedIn.data?.status).toBe("signed_in");
    } finally {
      await approvals.services.mailer.flush();
      await approvals.close();
    }
  });

  it("limits requests per IP and per address (TOO_MANY_REQUESTS with retryAfter)", async () => {
    const limited = await createTestServices({
      TRUST_PROXY: "true",
      SMTP_URL: smtp.url,
      PASSWORD_RESET_RATE_LIMIT: "3",
      PASSWORD_RESET_ADDRESS_RATE_LIMIT: "2",
    });
    try {
      await clearOfMinuteBoundary();
      const from = (ip: string) => new TestBrowser(limited.services, { headers: { "x-forwarded-for": ip } });
      // Per address (an unknown one: the limit tells nothing about accounts), from many IPs.
      const address = uniqueEmail("target");
      const perAddress = [];
      for (let i = 0; i < 3; i++) perAddress.push(await from(`198.51.100.${i + 1}`).mutation("account.requestPasswordReset", { email: address }));
      expect(perAddress.map((r) => r.status)).toEqual([200, 200, 429]);
      expect(perAddress[2]!.error?.data).toMatchObject({ code: "TOO_MANY_REQUESTS", reason: "rate_limited" });
      expect(perAddress[2]!.error?.data.retryAfter).toBeGreaterThan(0);
      // Per IP, for different addresses.
      const perIp = [];
      for (let i = 0; i < 4; i++) perIp.push(await from("198.51.100.77").mutation("account.requestPasswordReset", { email: uniqueEmail("spray") }));
      expect(perIp.map((r) => r.status)).toEqual([200, 200, 200, 429]);
      expect(perIp[3]!.headers.get("retry-after")).toMatch(/^\d+$/);
    } finally {
      await limited.services.mailer.flush();
      await limited.close();
    }
  });
});
