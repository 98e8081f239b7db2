import { execFileSync } from "node:child_process";
import pg from "pg";

// Integration tests run against the real PostgreSQL and Redis (see .ci/services.sh). They get a
// database of their own, migrated with the committed migrations through the Prisma CLI.
const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const DATABASE = process.env.TEST_DATABASE_NAME ?? "handoff_test";

export default async function setup() {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${DATABASE}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${DATABASE}"`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DATABASE}`;
  process.env.TEST_DATABASE_URL = url.toString();
  execFileSync("npx", ["prisma", "migrate", "deploy"], { env: { ...process.env, DATABASE_URL: url.toString() }, stdio: "pipe" });
  process.env.TEST_REDIS_URL ??= "redis://127.0.0.1:6379/1";
}
