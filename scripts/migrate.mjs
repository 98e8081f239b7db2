#!/usr/bin/env node
// Applies prisma/migrations/*/migration.sql in order, recording each in Prisma's own
// `_prisma_migrations` table, so that `prisma migrate deploy` / `migrate status` and this script
// agree on what is applied. `npm run db:migrate` and `npm start` run it, and the release artefact
// (.next/standalone, see scripts/build.mjs) ships it: there the Prisma CLI and its schema engine
// (devDependencies, and a native binary it would download) are absent, while `pg` is a runtime
// dependency of the app. Plain JavaScript with no build step, so it runs from the artefact as is.
//
// Differences from `prisma migrate deploy`, on purpose:
//   - each migration runs in one transaction together with its `_prisma_migrations` row: a
//     failing migration leaves the database as it was (nothing half-applied, no "failed" row to
//     resolve by hand); fix it and run again. (Statements that cannot run in a transaction, such as
//     CREATE INDEX CONCURRENTLY, are therefore not supported in migrations.)
//   - no shadow database, no drift check: it only applies what is pending.
// Like Prisma it takes the advisory lock 72707369, so two instances (or this script and the
// Prisma CLI) starting at once apply each migration once.
//
// Usage: node scripts/migrate.mjs [--status] [--dotenv]   (--dotenv: read ./.env first, as `npm run dev` does)
//   DATABASE_URL  postgresql://... (created if it does not exist, as Prisma does)
//   unset         the embedded PGlite database in DATA_DIR/pglite (refused in production unless
//                 ALLOW_EMBEDDED=true, like the server itself)
//   MIGRATIONS_DIR  default: prisma/migrations next to this script's folder
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const PRISMA_ADVISORY_LOCK = 72707369;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** The migrations shipped with this copy of the app: folder name, SQL and Prisma's checksum (sha256 hex of the file). */
export function shippedMigrations(dir) {
  if (!fs.existsSync(dir)) throw new Error(`No migrations folder at ${dir}`);
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: crypto.createHash("sha256").update(sql).digest("hex") };
    });
}

export const defaultMigrationsDir = () => path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "prisma", "migrations");

const quoteIdent = (name) => `"${name.replaceAll('"', '""')}"`;

/** A PostgreSQL server through `pg`, creating the database when it does not exist. */
async function postgres(url) {
  const { default: pg } = await import("pg");
  const parsed = new URL(url);
  const schema = parsed.searchParams.get("schema");
  parsed.searchParams.delete("schema");
  const connect = async (target) => {
    const client = new pg.Client({ connectionString: target.toString(), connectionTimeoutMillis: 10_000 });
    await client.connect();
    return client;
  };
  let client;
  try {
    client = await connect(parsed);
  } catch (error) {
    if (error?.code !== "3D000") throw error; // invalid_catalog_name: the database does not exist
    const database = decodeURIComponent(parsed.pathname.slice(1));
    const admin = new URL(parsed);
    admin.pathname = "/postgres";
    const adminClient = await connect(admin);
    try {
      await adminClient.query(`CREATE DATABASE ${quoteIdent(database)}`);
      console.log(`Created database ${database}`);
    } catch (createError) {
      if (createError?.code !== "42P04") throw createError; // created meanwhile by another instance
    } finally {
      await adminClient.end();
    }
    client = await connect(parsed);
  }
  if (schema) {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`SET search_path TO ${quoteIdent(schema)}`);
  }
  return {
    describe: `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
    query: async (sql, params) => (await client.query(sql, params)).rows,
    // The simple query protocol: the whole script at once ($$ bodies and all), in one round trip.
    exec: async (sql) => void (await client.query(sql)),
    // Like Prisma, give up after 10 s rather than wait forever behind a hung holder (npm start, ExecStartPre).
    lock: async () => {
      await client.query("SET lock_timeout = '10s'");
      await client.query(`SELECT pg_advisory_lock(${PRISMA_ADVISORY_LOCK})`);
      await client.query("SET lock_timeout = 0");
    },
    unlock: async () => void (await client.query(`SELECT pg_advisory_unlock(${PRISMA_ADVISORY_LOCK})`)),
    close: () => client.end(),
  };
}

/** The embedded PGlite database (development and demos), one process at a time by nature. */
async function pglite(dir) {
  const { PGlite } = await import("@electric-sql/pglite");
  // PGlite creates its own folder, not the ones above it (a fresh clone has no DATA_DIR yet).
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const db = new PGlite(dir);
  return {
    describe: `embedded PGlite in ${dir}`,
    query: async (sql, params) => (await db.query(sql, params)).rows,
    exec: async (sql) => void (await db.exec(sql)),
    lock: async () => undefined,
    unlock: async () => undefined,
    close: () => db.close(),
  };
}

export async function openDatabase(env = process.env) {
  if (env.DATABASE_URL) return postgres(env.DATABASE_URL);
  if (env.NODE_ENV === "production" && env.ALLOW_EMBEDDED !== "true") {
    throw new Error(
      "DATABASE_URL is not set. In production Handoff needs a real PostgreSQL: set DATABASE_URL=postgresql://user:password@host:5432/handoff " +
        "(or ALLOW_EMBEDDED=true to use the embedded PGlite database anyway, a demo that one process alone may open).",
    );
  }
  return pglite(path.resolve(env.DATA_DIR || ".data", "pglite"));
}

/** What the database holds: applied migration names (and checksums), and any migration that started and never finished. */
export async function appliedMigrations(db) {
  const [{ exists }] = await db.query(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS "exists"`);
  if (!exists) return { applied: new Map(), failed: [] };
  const rows = await db.query(`SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`);
  const applied = new Map();
  const failed = [];
  for (const row of rows) {
    if (row.rolled_back_at) continue;
    if (row.finished_at) applied.set(row.migration_name, row.checksum);
    else failed.push(row.migration_name);
  }
  return { applied, failed };
}

/**
 * Applies every pending migration; returns the names applied. Throws (having changed nothing for
 * the failing migration) when one fails, or when the history holds a failed migration.
 */
export async function migrate({ db, dir = defaultMigrationsDir(), log = console.log }) {
  const shipped = shippedMigrations(dir);
  await db.lock();
  try {
    await db.exec(CREATE_TABLE);
    const { applied, failed } = await appliedMigrations(db);
    if (failed.length > 0) {
      throw new Error(
        `Migration ${failed.join(", ")} started and did not finish (recorded by the Prisma CLI). Fix the database, then mark it with ` +
          "`npx prisma migrate resolve --applied <name>` or `--rolled-back <name>` before migrating again.",
      );
    }
    const shippedNames = new Set(shipped.map((m) => m.name));
    for (const name of applied.keys()) {
      if (!shippedNames.has(name)) log(`Note: ${name} is applied but not among the shipped migrations (is this copy older than the database?)`);
    }
    const done = [];
    for (const migration of shipped) {
      const checksum = applied.get(migration.name);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) log(`Warning: ${migration.name} was changed after it was applied (checksum differs).`);
        continue;
      }
      const id = crypto.randomUUID();
      await db.exec("BEGIN");
      try {
        await db.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`, [
          id,
          migration.checksum,
          migration.name,
        ]);
        await db.exec(migration.sql);
        await db.query(`UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`, [id]);
        await db.exec("COMMIT");
      } catch (error) {
        await db.exec("ROLLBACK").catch(() => undefined);
        throw new Error(`Migration ${migration.name} failed and was rolled back (nothing of it is applied): ${error?.message ?? error}`, { cause: error });
      }
      log(`Applied ${migration.name}`);
      done.push(migration.name);
    }
    return done;
  } finally {
    await db.unlock().catch(() => undefined);
  }
}

async function main() {
  // `npm run dev`: the same .env that Next.js and Prisma's CLI read (what is set in the environment wins).
  if (process.argv.includes("--dotenv") && fs.existsSync(".env")) process.loadEnvFile(".env");
  const statusOnly = process.argv.includes("--status");
  const dir = process.env.MIGRATIONS_DIR ? path.resolve(process.env.MIGRATIONS_DIR) : defaultMigrationsDir();
  const db = await openDatabase();
  try {
    if (statusOnly) {
      const { applied, failed } = await appliedMigrations(db);
      const pending = shippedMigrations(dir).filter((m) => !applied.has(m.name));
      console.log(`${db.describe}: ${applied.size} applied, ${pending.length} pending${failed.length ? `, failed: ${failed.join(", ")}` : ""}`);
      for (const m of pending) console.log(`  pending: ${m.name}`);
      process.exitCode = pending.length || failed.length ? 1 : 0;
      return;
    }
    const done = await migrate({ db, dir });
    console.log(done.length ? `${db.describe}: ${done.length} migration(s) applied.` : `${db.describe}: no pending migrations.`);
  } finally {
    await db.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`Migration failed: ${error?.message ?? error}`);
    process.exit(1);
  });
}
