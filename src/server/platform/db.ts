import "server-only";
import path from "node:path";
import { env } from "~/env";
import { PrismaClient } from "~/generated/prisma/client";

export type Db = PrismaClient;

/** PostgreSQL through adapter-pg when DATABASE_URL is set, otherwise embedded PGlite in DATA_DIR. */
export async function createDb(config: { databaseUrl?: string; dataDir: string; poolSize: number }): Promise<{ db: Db; close(): Promise<void> }> {
  if (config.databaseUrl) {
    const { PrismaPg } = await import("@prisma/adapter-pg");
    // Each instance holds at most poolSize connections: instances × DATABASE_POOL_SIZE must stay
    // under the server's max_connections (100 by default), with room for migrations and admin.
    const pool = { connectionString: config.databaseUrl, connectionTimeoutMillis: 5_000, max: config.poolSize };
    const db = new PrismaClient({ adapter: new PrismaPg(pool) });
    return { db, close: () => db.$disconnect() };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { PrismaPGlite } = await import("pglite-prisma-adapter");
  const client = new PGlite(path.resolve(config.dataDir, "pglite"));
  const db = new PrismaClient({ adapter: new PrismaPGlite(client) });
  return {
    db,
    close: async () => {
      await db.$disconnect();
      await client.close();
    },
  };
}

const globalForDb = globalThis as unknown as { handoffDb?: Promise<{ db: Db; close(): Promise<void> }> };

/** Created on first use (never at import), shared by every module graph of the process. */
export async function getDb(): Promise<Db> {
  globalForDb.handoffDb ??= createDb({ databaseUrl: env().DATABASE_URL, dataDir: env().DATA_DIR, poolSize: env().DATABASE_POOL_SIZE });
  return (await globalForDb.handoffDb).db;
}
