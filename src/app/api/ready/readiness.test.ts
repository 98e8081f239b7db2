import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkReadiness, shippedMigrationNames, type ReadinessDeps } from "./readiness";
import { createDb } from "~/server/platform/db";
import { createRedis, type RedisHandle } from "~/server/platform/redis";
import { freePort, RedisServer } from "~/test/redis-server";

// /api/ready's checks against real services, each taken away in turn: PostgreSQL on a closed
// port, a database without the migrations (or missing the latest), Redis on a closed port and a
// redis-server stopped after the app connected to it.

const shipped = shippedMigrationNames(path.resolve("prisma/migrations"));
const admin = () => new pg.Client({ connectionString: process.env.TEST_POSTGRES_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres" });
const databaseUrl = (name: string) => {
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
};

const closers: Array<() => Promise<unknown>> = [];
async function database(url: string) {
  const { db, close } = await createDb({ databaseUrl: url, dataDir: ".data", poolSize: 2 });
  closers.push(close);
  return (sql: string) => db.$queryRawUnsafe<Array<Record<string, unknown>>>(sql);
}
let redis: RedisHandle;
const goodPing = () => redis.raw.ping();

const emptyDb = `handoff_ready_empty_${process.pid}`;
const partialDb = `handoff_ready_partial_${process.pid}`;

beforeAll(async () => {
  redis = await createRedis({ redisUrl: process.env.TEST_REDIS_URL, prefix: "handoff-ready-test:" });
  const client = admin();
  await client.connect();
  for (const name of [emptyDb, partialDb]) {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  }
  await client.end();
  // The first migration only, recorded as Prisma records it.
  const { migrate, openDatabase } = await import("../../../../scripts/migrate.mjs");
  const partial = await openDatabase({ DATABASE_URL: databaseUrl(partialDb) });
  const dir = path.join(process.env.TMPDIR ?? "/tmp", `handoff-ready-migrations-${process.pid}`);
  const fs = await import("node:fs");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.resolve("prisma/migrations", shipped[0]!), path.join(dir, shipped[0]!), { recursive: true });
  await migrate({ db: partial, dir, log: () => undefined });
  await partial.close();
});

afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
  await redis?.close();
  const client = admin();
  await client.connect();
  for (const name of [emptyDb, partialDb]) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await client.end();
});

const check = (deps: Partial<ReadinessDeps> & Pick<ReadinessDeps, "query">) => checkReadiness({ ping: goodPing, shipped, ...deps }, () => undefined);

describe("readiness (/api/ready)", () => {
  it("ships at least two migrations to compare (the test below needs a pending one)", () => {
    expect(shipped.length).toBeGreaterThanOrEqual(2);
  });

  it("is ready with PostgreSQL migrated and Redis up", async () => {
    const result = await check({ query: await database(process.env.TEST_DATABASE_URL!) });
    expect(result).toEqual({ ok: true, failed: [], checks: { postgres: { ok: true }, redis: { ok: true }, migrations: { ok: true } } });
  });

  it("names postgres when PostgreSQL does not answer (closed port)", async () => {
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.port = String(await freePort());
    const result = await check({ query: await database(url.toString()) });
    expect(result.ok).toBe(false);
    expect(result.failed).toEqual(["postgres", "migrations"]);
    expect(result.checks.postgres).toEqual({ ok: false, error: "unreachable" });
    expect(result.checks.redis.ok).toBe(true);
  });

  it("names migrations for a database without any, listing every shipped one as pending", async () => {
    const result = await check({ query: await database(databaseUrl(emptyDb)) });
    expect(result.failed).toEqual(["migrations"]);
    expect(result.checks.migrations).toEqual({ ok: false, pending: shipped });
  });

  it("names migrations when the latest shipped one is not applied", async () => {
    const result = await check({ query: await database(databaseUrl(partialDb)) });
    expect(result.failed).toEqual(["migrations"]);
    expect(result.checks.migrations).toEqual({ ok: false, pending: shipped.slice(1) });
  });

  it("names redis when nothing listens on its port", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const result = await check({
      query: await database(process.env.TEST_DATABASE_URL!),
      ping: async () => (await createRedis({ redisUrl: url, prefix: "x:" })).raw.ping(),
    });
    expect(result.failed).toEqual(["redis"]);
    expect(result.checks.redis).toEqual({ ok: false, error: "unreachable" });
  });

  it("names redis when the redis-server it was connected to stops, and is ready again when it is back", async () => {
    const server = await RedisServer.start();
    const handle = await createRedis({ redisUrl: server.url, prefix: "x:" });
    try {
      const query = await database(process.env.TEST_DATABASE_URL!);
      const ping = () => handle.raw.ping();
      expect((await check({ query, ping })).ok).toBe(true);
      await server.kill();
      const down = await check({ query, ping });
      expect(down.failed).toEqual(["redis"]);
      expect(down.checks.postgres.ok).toBe(true);
      await server.restart();
      await expect.poll(async () => (await check({ query, ping })).ok, { timeout: 10_000 }).toBe(true);
    } finally {
      await handle.close();
      await server.stop();
    }
  });

  it("bounds a check that hangs and says so", async () => {
    const result = await check({
      query: await database(process.env.TEST_DATABASE_URL!),
      ping: () => new Promise(() => undefined),
      // Long enough for the real PostgreSQL checks on a loaded machine; Redis never answers.
      timeoutMs: 2000,
    });
    expect(result.failed).toEqual(["redis"]);
    expect(result.checks.redis).toEqual({ ok: false, error: "no answer within 2000 ms" });
  });

  it("is not ready while shutting down, even with every service up", async () => {
    const result = await check({ query: await database(process.env.TEST_DATABASE_URL!), shuttingDown: true });
    expect(result.ok).toBe(false);
    expect(result.failed).toEqual(["shutting_down"]);
  });
});
