import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, uniqueEmail } from "~/test/harness";
import { pruneHistory, runRetention } from "./retention";

const DAY = 86_400_000;

describe("history retention (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;

  beforeAll(async () => {
    t = await createTestServices();
  });
  afterAll(() => t.close());

  /** A user with `old` LoginEvent and SecurityEvent rows 400 days old and `recent` ones 10 days old. */
  async function userWithHistory(old: number, recent: number) {
    const email = uniqueEmail("history");
    const user = await t.services.db.user.create({ data: { email, passwordHash: "x" } });
    const rows = (ageDays: number, n: number) => Array.from({ length: n }, () => new Date(Date.now() - ageDays * DAY));
    const login = (createdAt: Date) => ({
      userId: user.id,
      email,
      ip: "127.0.0.1",
      userAgent: "test",
      method: "password" as const,
      outcome: "success" as const,
      createdAt,
    });
    const security = (createdAt: Date) => ({ userId: user.id, type: "session_revoked", ip: "127.0.0.1", createdAt });
    await t.services.db.loginEvent.createMany({ data: [...rows(400, old), ...rows(10, recent)].map(login) });
    await t.services.db.securityEvent.createMany({ data: [...rows(400, old), ...rows(10, recent)].map(security) });
    const count = async () => ({
      login: await t.services.db.loginEvent.count({ where: { userId: user.id } }),
      security: await t.services.db.securityEvent.count({ where: { userId: user.id } }),
    });
    return { count };
  }

  it("deletes rows older than the retention in bounded batches and keeps recent ones", async () => {
    const user = await userWithHistory(7, 3);
    expect(await user.count()).toEqual({ login: 10, security: 10 });
    const result = await pruneHistory(t.services.db, { before: new Date(Date.now() - 365 * DAY), batchSize: 3 });
    expect(await user.count()).toEqual({ login: 3, security: 3 });
    expect(result.complete).toBe(true);
    // 7 old rows per table, 3 per statement: at least 3 statements each (3 + 3 + 1), never more than 3 rows at once.
    expect(result.deleted.LoginEvent).toBeGreaterThanOrEqual(7);
    expect(result.deleted.SecurityEvent).toBeGreaterThanOrEqual(7);
    expect(result.batches).toBeGreaterThanOrEqual(6);
    expect(result.batches).toBeGreaterThanOrEqual(Math.ceil((result.deleted.LoginEvent + 1) / 3) + Math.ceil((result.deleted.SecurityEvent + 1) / 3));
  });

  it("stops at its deadline and leaves the rest for the next run", async () => {
    const user = await userWithHistory(5, 1);
    let clock = 0;
    // Each statement advances the clock 10 ms; the deadline allows two statements.
    const result = await pruneHistory(t.services.db, { before: new Date(Date.now() - 365 * DAY), batchSize: 2, deadline: 15, now: () => (clock += 10) - 10 });
    expect(result).toMatchObject({ complete: false, batches: 2 });
    expect((await user.count()).login).toBeLessThan(6);
    expect((await user.count()).security).toBe(6);
  });

  it("runs on one instance at a time: a second run while the lock is held does nothing", async () => {
    const user = await userWithHistory(4, 2);
    const run = () => runRetention({ db: t.services.db, redis: t.services.redis, retentionMs: 365 * DAY, batchSize: 1 });
    const both = await Promise.all([run(), run()]);
    expect(both.map((r) => r.status).sort()).toEqual(["done", "locked"]);
    expect(await user.count()).toEqual({ login: 2, security: 2 });
    // The lock was released at the end: the next run works.
    expect((await run()).status).toBe("done");

    // A lock another instance holds (here: set by hand) means no run at all.
    await t.services.redis.redis.set(`${t.services.redis.prefix}retention:lock`, "another instance", { px: 60_000 });
    const more = await userWithHistory(2, 0);
    expect(await run()).toEqual({ status: "locked" });
    expect((await more.count()).login).toBe(2);
  });

  it("keeps everything with a retention of 0", async () => {
    expect(await runRetention({ db: t.services.db, redis: t.services.redis, retentionMs: 0 })).toEqual({ status: "disabled" });
  });
});
