import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { appliedMigrations, migrate, openDatabase, shippedMigrations } from "./migrate.mjs";

// The migration runner shipped in the release artefact, against the real PostgreSQL: it must
// agree with the Prisma CLI both ways (same `_prisma_migrations` rows and checksums), create a
// missing database, apply each migration once under concurrency, and leave nothing of a failing one.

const run = promisify(execFile);
const adminUrl = process.env.TEST_POSTGRES_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const names: string[] = [];
const databaseUrl = (suffix: string) => {
  const name = `handoff_migrate_${suffix}_${process.pid}`;
  names.push(name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
};
async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
const dropAll = () =>
  admin(async (c) => {
    for (const name of names) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
afterAll(dropAll);

const shipped = shippedMigrations(path.resolve("prisma/migrations"));
const quiet = () => undefined;
const prisma = (url: string, ...args: string[]) =>
  run("npx", ["prisma", "migrate", ...args], { env: { ...process.env, DATABASE_URL: url } }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
async function rows(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (
      await client.query(
        `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
      )
    ).rows;
  } finally {
    await client.end();
  }
}

describe("scripts/migrate.mjs (db:migrate, shipped in the release artefact)", () => {
  it("creates the database, applies every migration once, and `prisma migrate status` agrees", async () => {
    const url = databaseUrl("fresh");
    const db = await openDatabase({ DATABASE_URL: url });
    try {
      expect(await migrate({ db, log: quiet })).toEqual(shipped.map((m) => m.name));
      expect(await migrate({ db, log: quiet })).toEqual([]);
    } finally {
      await db.close();
    }
    expect(await rows(url)).toEqual(shipped.map((m) => ({ migration_name: m.name, checksum: m.checksum, finished: true, applied_steps_count: 1 })));
    const status = await prisma(url, "status");
    expect(status.out).toContain("Database schema is up to date");
    expect(status.code).toBe(0);
    // The schema is exactly what Prisma would have built: no difference to the Prisma schema.
    const diff = await run("npx", ["prisma", "migrate", "diff", "--from-config-datasource", "--to-schema", "prisma/schema.prisma", "--script"], {
      env: { ...process.env, DATABASE_URL: url },
    });
    expect(diff.stdout).toContain("This is an empty migration");
  }, 120_000);

  it("finds nothing to do on a database `prisma migrate deploy` migrated, with the same checksums", async () => {
    const url = databaseUrl("prisma");
    const deployed = await prisma(url, "deploy");
    expect(deployed.code).toBe(0);
    const before = await rows(url);
    const db = await openDatabase({ DATABASE_URL: url });
    try {
      expect(await migrate({ db, log: quiet })).toEqual([]);
      const { applied } = await appliedMigrations(db);
      expect([...applied.entries()]).toEqual(shipped.map((m) => [m.name, m.checksum]));
    } finally {
      await db.close();
    }
    expect(await rows(url)).toEqual(before);
  }, 120_000);

  it("applies each migration once when several instances migrate at the same time", async () => {
    const url = databaseUrl("race");
    await admin((c) => c.query(`CREATE DATABASE "${url.split("/").pop()}"`));
    const dbs = await Promise.all([1, 2, 3, 4].map(() => openDatabase({ DATABASE_URL: url })));
    try {
      const applied = await Promise.all(dbs.map((db) => migrate({ db, log: quiet })));
      expect(applied.flat().sort()).toEqual(shipped.map((m) => m.name));
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
    expect((await rows(url)).length).toBe(shipped.length);
  });

  it("rolls a failing migration back entirely: no half-applied schema, no row, later ones not run", async () => {
    const url = databaseUrl("failing");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "handoff-migrations-"));
    const write = (name: string, sql: string) => {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, "migration.sql"), sql);
    };
    write("1_ok", `CREATE TABLE "a" (id int);`);
    write("2_bad", `CREATE TABLE "b" (id int);\nINSERT INTO "missing" VALUES (1);`);
    write("3_later", `CREATE TABLE "c" (id int);`);
    const db = await openDatabase({ DATABASE_URL: url });
    try {
      await expect(migrate({ db, dir, log: quiet })).rejects.toThrow(/2_bad failed and was rolled back.*"missing" does not exist/);
      const tables = await db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
      expect(tables.map((t) => t.table_name)).toEqual(["_prisma_migrations", "a"]);
      expect([...(await appliedMigrations(db)).applied.keys()]).toEqual(["1_ok"]);
      // Fixed, it runs again from where it stopped.
      fs.writeFileSync(path.join(dir, "2_bad", "migration.sql"), `CREATE TABLE "b" (id int);`);
      expect(await migrate({ db, dir, log: quiet })).toEqual(["2_bad", "3_later"]);
    } finally {
      await db.close();
    }
  });

  it("npm run dev's --dotenv reads ./.env (the environment wins); a fresh DATA_DIR's missing folders are created", async () => {
    const script = path.resolve("scripts/migrate.mjs");
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "handoff-migrate-"));
    try {
      const url = databaseUrl("dotenv");
      fs.writeFileSync(path.join(cwd, ".env"), `DATABASE_URL=${url}\nDATA_DIR=${path.join(cwd, "not used")}\n`);
      const { DATABASE_URL: _url, DATA_DIR: _dir, ...inherited } = process.env;
      const env = { ...inherited, MIGRATIONS_DIR: path.resolve("prisma/migrations") };
      const fromFile = await run("node", [script, "--dotenv"], { cwd, env });
      expect(fromFile.stdout).toContain(`${shipped.length} migration(s) applied`);
      expect(await rows(url)).toHaveLength(shipped.length);
      // Without the flag, .env is not read: the embedded database in DATA_DIR, whose parents do not exist yet.
      const dataDir = path.join(cwd, "a", "b");
      const embedded = await run("node", [script, "--status"], { cwd, env: { ...env, DATA_DIR: dataDir } }).catch((e: { stdout: string }) => e);
      expect(embedded.stdout).toContain(`embedded PGlite in ${path.join(dataDir, "pglite")}`);
      // The environment wins over the file.
      const other = databaseUrl("dotenv_env");
      const fromEnv = await run("node", [script, "--dotenv"], { cwd, env: { ...env, DATABASE_URL: other } });
      expect(fromEnv.stdout).toContain(`${shipped.length} migration(s) applied`);
      expect(await rows(other)).toHaveLength(shipped.length);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  }, 120_000);

  it("refuses the embedded database in production unless ALLOW_EMBEDDED=true", async () => {
    await expect(openDatabase({ NODE_ENV: "production" })).rejects.toThrow(/set DATABASE_URL=postgresql:\/\/.*ALLOW_EMBEDDED=true/);
  });
});
