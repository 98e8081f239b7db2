import { randomUUID } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { parseEnv } from "~/env";
import { createDb } from "./db";
import { isInfrastructureError } from "~/server/api/errors";

// DATABASE_POOL_SIZE bounds the connections one instance holds: with several instances behind a
// load balancer, instances × pool size is what PostgreSQL's max_connections must accommodate.
describe("the PostgreSQL pool (real PostgreSQL)", () => {
  it("never holds more than DATABASE_POOL_SIZE connections, however many queries wait", async () => {
    const applicationName = `handoff-pool-${randomUUID().slice(0, 8)}`;
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.searchParams.set("application_name", applicationName);
    const e = parseEnv({ NODE_ENV: "test", DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: "3", SESSION_SECRET: "x".repeat(32) });
    expect(e.DATABASE_POOL_SIZE).toBe(3);
    const { db, close } = await createDb({ databaseUrl: e.DATABASE_URL, dataDir: e.DATA_DIR, poolSize: e.DATABASE_POOL_SIZE });
    const observer = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await observer.connect();
    try {
      let most = 0;
      let watching = true;
      const watch = (async () => {
        while (watching) {
          const { rows } = await observer.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [
            applicationName,
          ]);
          most = Math.max(most, rows[0]!.n);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      try {
        await Promise.all(Array.from({ length: 12 }, () => db.$queryRaw`SELECT 1 AS one FROM pg_sleep(0.2)`));
      } finally {
        watching = false;
        await watch;
      }
      expect(most).toBeGreaterThanOrEqual(2);
      expect(most).toBeLessThanOrEqual(3);
    } finally {
      await observer.end();
      await close();
    }
  });

  it("refuses a pool size that is not a whole number from 1 to 500", () => {
    for (const bad of ["0", "501", "2.5", "many"]) {
      expect(() => parseEnv({ NODE_ENV: "test", DATABASE_POOL_SIZE: bad, SESSION_SECRET: "x".repeat(32) })).toThrow(
        /DATABASE_POOL_SIZE must be a whole number/,
      );
    }
    expect(parseEnv({ NODE_ENV: "test", SESSION_SECRET: "x".repeat(32) }).DATABASE_POOL_SIZE).toBe(10);
  });
});

describe("an unreachable database is an outage, whatever the query (real Prisma errors)", () => {
  it("model queries and raw statements alike; a statement PostgreSQL refuses is not", async () => {
    const { db: down, close: closeDown } = await createDb({ databaseUrl: "postgresql://postgres@127.0.0.1:1/none", dataDir: ".", poolSize: 1 });
    const { db: up, close: closeUp } = await createDb({ databaseUrl: process.env.TEST_DATABASE_URL!, dataDir: ".", poolSize: 1 });
    try {
      const model = await down.user.findFirst().catch((e: unknown) => e);
      const raw = await down.$queryRaw`SELECT 1`.catch((e: unknown) => e);
      // Prisma answers a raw statement that cannot reach the database with P2010, not P1001.
      expect(raw).toMatchObject({ code: "P2010" });
      expect(isInfrastructureError(model)).toBe(true);
      expect(isInfrastructureError(raw)).toBe(true);
      const refused = await up.$queryRaw`SELECT 1 / 0`.catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: "P2010" });
      expect(isInfrastructureError(refused)).toBe(false);
    } finally {
      await closeDown();
      await closeUp();
    }
  });
});
