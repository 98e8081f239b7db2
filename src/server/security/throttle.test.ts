import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIREFOX_LINUX, PASSWORD, SYDNEY } from "~/test/fixtures";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";

describe.each([
  ["real Redis", process.env.TEST_REDIS_URL ?? ""],
  ["embedded Redis", ""],
])("account throttling after failed passwords (%s)", (_name, redisUrl) => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const stranger = () => new TestBrowser(t.services, { userAgent: FIREFOX_LINUX, headers: { "x-forwarded-for": SYDNEY } });

  beforeAll(async () => {
    t = await createTestServices({ REDIS_URL: redisUrl, TRUST_PROXY: "true", ACCOUNT_THROTTLE_AFTER: "5", ACCOUNT_THROTTLE_MAX_SECONDS: "900" });
  });
  afterAll(() => t.close());

  async function account() {
    const email = uniqueEmail();
    const owner = new TestBrowser(t.services);
    await owner.mutation("auth.register", { email, password: PASSWORD });
    return { email, owner };
  }

  it("after 5 failed passwords each attempt waits a doubling delay, capped; the right password after the wait resets it", async () => {
    const { email } = await account();
    const start = Date.now();
    t.clock.now = start;
    try {
      for (let i = 0; i < 5; i++) expect((await stranger().mutation("auth.login", { email, password: `wrong ${i}` })).status).toBe(401);
      // Even the right password has to wait now: the answer does not tell whether it was right.
      const blocked = await stranger().mutation("auth.login", { email, password: PASSWORD });
      expect(blocked.error).toMatchObject({
        data: { code: "TOO_MANY_REQUESTS", retryAfter: 1 },
        message: "Too many failed sign-ins for this account. Try again in 1 s.",
      });
      // Each further failure doubles the wait: 2, 4, 8 ... s, never more than 15 min.
      const waits: number[] = [];
      for (let i = 0; i < 12; i++) {
        t.clock.now += 1_000_000;
        expect((await stranger().mutation("auth.login", { email, password: "still wrong" })).status).toBe(401);
        waits.push((await stranger().mutation("auth.login", { email, password: "x" })).error!.data.retryAfter as number);
      }
      expect(waits).toEqual([2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]);
      t.clock.now += 900_000;
      expect((await stranger().mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
      // Reset: five more tries before any wait.
      for (let i = 0; i < 5; i++) expect((await stranger().mutation("auth.login", { email, password: "wrong" })).status).toBe(401);
      expect((await stranger().mutation("auth.login", { email, password: "wrong" })).status).toBe(429);
    } finally {
      t.clock.now = undefined;
    }
  });

  it("50 concurrent guesses on a fresh account: at most 5 passwords are checked, the rest wait", async () => {
    const { email, owner } = await account();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stranger().mutation("auth.login", { email, password: `guess ${i}` })));
    expect(results.filter((r) => r.status === 401)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(45);
    const userId = (await owner.query<{ user: { id: string } }>("auth.me")).data!.user.id;
    expect(await t.services.db.loginEvent.count({ where: { userId, outcome: "failure" } })).toBe(5);
    expect(await t.services.db.loginEvent.count({ where: { userId, outcome: "blocked", reason: "account_throttled" } })).toBe(45);
  });

  it("the owner's own devices are not throttled, and the owner is told once when throttling starts", async () => {
    const { email, owner } = await account();
    const userId = (await owner.query<{ user: { id: string } }>("auth.me")).data!.user.id;
    const feed = (await (await owner.caller()).sessions.onEvent())[Symbol.asyncIterator]();
    const first = feed.next();
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 8; i++) await stranger().mutation("auth.login", { email, password: "wrong" });
    expect((await stranger().mutation("auth.login", { email, password: PASSWORD })).status).toBe(429);
    // The browser that signed in before (its device cookie) gets in at once.
    await owner.mutation("auth.logout");
    expect((await owner.mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
    const { value } = await first;
    expect(Array.isArray(value) ? value[1] : value).toMatchObject({ type: "sign_in_throttled", attempts: 5, ip: SYDNEY, location: "Sydney, Australia" });
    await feed.return?.();
    expect(await t.services.db.securityEvent.count({ where: { userId, type: "account_throttled" } })).toBe(1);
  });

  it("unknown emails are throttled the same way, so the answer reveals nothing about which accounts exist", async () => {
    const email = uniqueEmail("nobody");
    for (let i = 0; i < 5; i++) expect((await stranger().mutation("auth.login", { email, password: "wrong" })).status).toBe(401);
    expect((await stranger().mutation("auth.login", { email, password: "wrong" })).error?.message).toBe(
      "Too many failed sign-ins for this account. Try again in 1 s.",
    );
  });

  it("token clients (tokens.issue) count against the same throttle", async () => {
    const { email } = await account();
    const cli = () => new TestBrowser(t.services, { origin: null, userAgent: "cli", headers: { "x-forwarded-for": SYDNEY } });
    for (let i = 0; i < 5; i++) expect((await cli().mutation("tokens.issue", { email, password: "wrong", deviceName: "x" })).status).toBe(401);
    expect((await stranger().mutation("auth.login", { email, password: PASSWORD })).status).toBe(429);
  });
});
