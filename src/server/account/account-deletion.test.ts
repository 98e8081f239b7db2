import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LONDON, MOUNTAIN_VIEW, PASSWORD } from "~/test/fixtures";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { startSmtp } from "~/test/smtp";

describe("account deletion (real PostgreSQL, Redis and SMTP)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const browser = (ip = LONDON) => new TestBrowser(t.services, { headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await createTestServices({ TRUST_PROXY: "true", SMTP_URL: smtp.url, SESSION_LIMIT: "0" });
  });
  afterAll(async () => {
    await t.services.mailer.flush();
    await t.close();
    await smtp.close();
  });

  async function account() {
    const email = uniqueEmail("leaving");
    const laptop = browser();
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    return { email, laptop, userId: reg.data!.user.id };
  }

  /** Every session in Redis that belongs to the user, found by scanning the session hashes themselves (not the index). */
  async function sessionsInRedis(userId: string): Promise<string[]> {
    const { redis, prefix } = t.services.redis;
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, { match: `${prefix}{*}session:*`, count: 1000 });
      for (const key of keys) if ((await redis.hget(key, "userId")) === userId) found.push(key);
      cursor = String(next);
    } while (cursor !== "0");
    return found;
  }

  it("with the password: every session ends, every row and Redis key goes, a goodbye mail; the address can register again", async () => {
    const { email, laptop, userId } = await account();
    const phone = browser(MOUNTAIN_VIEW);
    await phone.mutation("auth.login", { email, password: PASSWORD });
    const app = await browser().mutation<{ accessToken: string }>("tokens.issue", { email, password: PASSWORD, deviceName: "CLI" });
    await laptop.mutation("account.resendVerification");
    await browser().mutation("auth.login", { email, password: "a wrong guess" });

    const wrong = await laptop.mutation("account.delete", { password: "not my password" });
    expect(wrong.error?.data).toMatchObject({ code: "BAD_REQUEST", reason: "wrong_password" });
    expect(await t.services.db.user.count({ where: { id: userId } })).toBe(1);

    const res = await laptop.mutation("account.delete", { password: PASSWORD });
    expect(res.data).toEqual({ ok: true });
    expect(laptop.cookies.size).toBeLessThanOrEqual(1); // the session cookie is cleared (the device cookie may stay)
    for (const b of [laptop, phone, new TestBrowser(t.services, { origin: null, headers: { authorization: `Bearer ${app.data!.accessToken}` } })]) {
      expect((await b.query("auth.me")).error?.data.code).toBe("UNAUTHORIZED");
    }
    const db = t.services.db;
    expect(await db.user.count({ where: { id: userId } })).toBe(0);
    expect(await db.device.count({ where: { userId } })).toBe(0);
    expect(await db.ipAddress.count({ where: { userId } })).toBe(0);
    expect(await db.loginEvent.count({ where: { OR: [{ userId }, { email }] } })).toBe(0);
    expect(await db.securityEvent.count({ where: { userId } })).toBe(0);
    // Redis: no session, no key of the user's but the epoch (which must outlive sign-ins in flight) and the live feed's last word.
    expect(await sessionsInRedis(userId)).toEqual([]);
    const { redis, prefix } = t.services.redis;
    const left = (await redis.keys(`${prefix}*${userId}*`))
      .map((k) => k.slice(prefix.length).replace(/^\{[^}]*\}/, "")) // without the hash tag
      .filter((k) => !k.startsWith("ratelimit:")) // counters expire within their window
      .sort();
    expect(left).toEqual([`user:${userId}:epoch`, `user:${userId}:events`, `user:${userId}:events:seq`]);
    const feed = await t.services.events.poll(userId, "none", 0);
    expect(feed.events.map((e) => e.type === "revoked" && e.reason)).toEqual(["account_deleted"]);

    expect((await smtp.mailTo(t.services.mailer, email, /your account was deleted/)).text).toContain("can be used to create a new account");
    const again = await browser().mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    expect(again.status).toBe(200);
    expect(again.data!.user.id).not.toBe(userId);
  });

  it("deletion racing another deletion or a password change from a second session: typed answers, never a 500", async () => {
    for (let trial = 0; trial < 5; trial++) {
      const { email, laptop } = await account();
      const phone = browser();
      expect((await phone.mutation<{ status: string }>("auth.login", { email, password: PASSWORD })).data?.status).toBe("signed_in");
      const answers = await Promise.all([
        laptop.mutation("account.delete", { password: PASSWORD }),
        trial % 2
          ? phone.mutation("account.delete", { password: PASSWORD })
          : phone.mutation("account.changePassword", { currentPassword: PASSWORD, newPassword: `another password ${trial}`, signOutOtherSessions: false }),
      ]);
      for (const answer of answers) expect(answer.status, JSON.stringify(answer.error)).toBeLessThan(500);
      expect(answers.some((a) => a.status === 200)).toBe(true);
    }
  });

  it("deletion racing sign-ins: no session is left for the deleted user, whatever the interleaving", async () => {
    let signedInBeforeDeletion = 0;
    const refused = new Map<string, number>();
    for (let round = 0; round < 20; round++) {
      const { email, laptop, userId } = await account();
      const others = Array.from({ length: 3 }, (_, i) => browser(`198.51.100.${round * 3 + i + 1}`));
      const [deleted, ...logins] = await Promise.all([
        laptop.mutation("account.delete", { password: PASSWORD }),
        ...others.map(async (b, i) => {
          await new Promise((r) => setTimeout(r, (round % 4) * 3 + i * 2));
          return b.mutation("auth.login", { email, password: PASSWORD });
        }),
      ]);
      expect(deleted.data).toEqual({ ok: true });
      for (const login of logins)
        if (login.status === 200) signedInBeforeDeletion++;
        else {
          const why = `${login.error?.data.code} ${login.error?.data.reason}`;
          refused.set(why, (refused.get(why) ?? 0) + 1);
        }
      expect(await sessionsInRedis(userId)).toEqual([]);
      // Refused as for an unknown address, never a 500 (a sign-in whose rows vanished under it).
      for (const login of logins) if (login.status !== 200) expect(login.error?.data).toMatchObject({ code: "UNAUTHORIZED" });
      for (const b of others) expect((await b.query("auth.me")).error?.data.code).toBe("UNAUTHORIZED");
      expect(await t.services.db.user.count({ where: { id: userId } })).toBe(0);
    }
    console.log(
      `deletion vs sign-in: ${signedInBeforeDeletion} sign-ins landed first (and were ended); refused: ${JSON.stringify(Object.fromEntries(refused))}`,
    );
  });
});
