import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "~/server/platform/db";
import { createRedis } from "~/server/platform/redis";
import { createServices, type Services } from "~/server/services";
import { TestBrowser, testEnv } from "~/test/harness";

// The zero-install default: no DATABASE_URL and no Redis configured. PGlite in a data folder,
// migrated by the stock `prisma migrate deploy` (through prisma/schema-engine.mjs), and the
// in-memory Redis, serving the same API end to end.
describe("embedded default (PGlite + in-memory Redis)", () => {
  let dataDir: string;
  let services: Services;
  let close: () => Promise<void>;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "handoff-embedded-"));
    const env = { ...process.env, DATABASE_URL: "", DATA_DIR: dataDir };
    execFileSync("npx", ["prisma", "migrate", "deploy"], { env, stdio: "pipe" });
    const status = execFileSync("npx", ["prisma", "migrate", "status"], { env, stdio: "pipe" }).toString();
    expect(status).toContain("Database schema is up to date");
    const e = testEnv({ DATABASE_URL: "", REDIS_URL: "", DATA_DIR: dataDir });
    const db = await createDb({ databaseUrl: e.DATABASE_URL, dataDir: e.DATA_DIR, poolSize: e.DATABASE_POOL_SIZE });
    const redis = await createRedis({ prefix: e.REDIS_PREFIX });
    expect(redis.kind).toBe("embedded");
    services = createServices(db.db, redis, e);
    close = async () => {
      await redis.close();
      await db.close();
    };
  }, 120_000);

  afterAll(async () => {
    await close?.();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("registers, signs in on a second device, lists and revokes sessions, keeps history", async () => {
    const laptop = new TestBrowser(services);
    const email = "embedded@example.com";
    expect((await laptop.mutation("auth.register", { email, password: "correct horse battery staple" })).status).toBe(200);
    const phone = new TestBrowser(services, { userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1" });
    expect((await phone.mutation("auth.login", { email, password: "correct horse battery staple" })).status).toBe(200);
    const list = await laptop.query<{ id: string; current: boolean; location: string }[]>("sessions.list");
    expect(list.data!.map((s) => s.current)).toEqual([true, false]);
    expect(list.data![0]!.location).toBe("Local network");
    expect((await laptop.mutation("sessions.revoke", { sessionId: list.data![1]!.id })).status).toBe(200);
    expect((await phone.query("auth.me")).status).toBe(401);
    const history = await laptop.query<{ items: unknown[] }>("sessions.history");
    expect(history.data!.items).toHaveLength(2);
  });
});
