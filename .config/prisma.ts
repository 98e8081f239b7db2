import path from "node:path";
import { defineConfig } from "prisma/config";

// Same .env as Next.js reads (Prisma 7 does not load it by itself).
try {
  process.loadEnvFile?.(".env");
} catch {
  // no .env: configuration comes from the environment
}

// Prisma's CLI downloads a native schema engine at first use, which fails offline. The script
// below speaks that engine's protocol over Prisma's own WASM engine. Set the variable yourself to
// use a native binary instead.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.resolve("prisma/schema-engine.mjs");

export default defineConfig({
  schema: "../prisma/schema.prisma",
  migrations: { path: "../prisma/migrations" },
  datasource: {
    // No DATABASE_URL: the embedded PGlite database the app itself opens (src/server/platform/db.ts).
    url: process.env.DATABASE_URL || `pglite:${path.resolve(process.env.DATA_DIR || ".data", "pglite")}`,
  },
});
