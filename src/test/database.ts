import { execFileSync } from "node:child_process";
import pg from "pg";

/** Drops and re-creates an empty PostgreSQL database. Returns its URL. */
export async function recreateDatabase(name: string, adminUrl = process.env.TEST_POSTGRES_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres") {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Drops and re-creates a PostgreSQL database, then applies the committed migrations with the
 * stock `prisma migrate deploy` (through prisma/schema-engine.mjs). Returns its URL.
 */
export async function resetDatabase(name: string, adminUrl?: string) {
  const url = await recreateDatabase(name, adminUrl);
  execFileSync("npx", ["prisma", "migrate", "deploy"], { env: { ...process.env, DATABASE_URL: url }, stdio: "pipe" });
  return url;
}
