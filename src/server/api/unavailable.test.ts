import { describe, expect, it } from "vitest";
import { createTestServices, TestBrowser, testEnv, uniqueEmail } from "~/test/harness";
import { createDb } from "~/server/platform/db";
import { createRedis } from "~/server/platform/redis";
import { createServices } from "../services";

const CLOSED_PORT = "127.0.0.1:1";

describe("PostgreSQL or Redis unreachable: a typed SERVICE_UNAVAILABLE, never a 500", () => {
  it("Redis down when the app starts", async () => {
    const e = testEnv({ REDIS_URL: `redis://${CLOSED_PORT}` });
    const failing = (async () => {
      const { db } = await createDb({ databaseUrl: e.DATABASE_URL, dataDir: e.DATA_DIR, poolSize: e.DATABASE_POOL_SIZE });
      return createServices(db, await createRedis({ redisUrl: e.REDIS_URL, prefix: "x:" }), e);
    })();
    failing.catch(() => undefined);
    const b = new TestBrowser(() => failing);
    for (const res of [await b.mutation("auth.login", { email: uniqueEmail(), password: "whatever it is" }), await b.query("auth.me")]) {
      expect(res.status).toBe(503);
      expect(res.error?.data.code).toBe("SERVICE_UNAVAILABLE");
      expect(res.error?.message).toMatch(/temporarily unavailable/);
    }
  });

  it("PostgreSQL down: sign-in and registration fail cleanly and write no session", async () => {
    const t = await createTestServices();
    try {
      const { db, close } = await createDb({ databaseUrl: `postgresql://postgres@${CLOSED_PORT}/nothing`, dataDir: ".data", poolSize: 1 });
      const services = { ...t.services, db };
      const b = new TestBrowser(services);
      for (const path of ["auth.login", "auth.register"]) {
        const res = await b.mutation(path, { email: uniqueEmail(), password: "correct horse battery staple" });
        expect(res.status, path).toBe(503);
        expect(res.error?.data.code).toBe("SERVICE_UNAVAILABLE");
      }
      // Every page of the scan: the shared test Redis may hold more than one page of other keys.
      const keys: string[] = [];
      let cursor = "0";
      do {
        const [next, page] = await t.services.redis.redis.scan(cursor, { match: `${t.env.REDIS_PREFIX}*`, count: 1000 });
        keys.push(...page);
        cursor = String(next);
      } while (cursor !== "0");
      // The sign-in rate limiter counted the attempts; nothing else (no session) was written.
      expect(keys.filter((k) => !k.startsWith(`${t.env.REDIS_PREFIX}ratelimit:`))).toEqual([]);
      await close();
    } finally {
      await t.close();
    }
  });

  it("Redis lost while running: protected calls answer SERVICE_UNAVAILABLE", async () => {
    const t = await createTestServices();
    const b = new TestBrowser(t.services);
    await b.mutation("auth.register", { email: uniqueEmail(), password: "correct horse battery staple" });
    expect((await b.query("auth.me")).status).toBe(200);
    await t.services.redis.close();
    const res = await b.query("auth.me");
    expect(res.status).toBe(503);
    expect(res.error?.data.code).toBe("SERVICE_UNAVAILABLE");
    await t.services.db.$disconnect();
  });
});
