import path from "node:path";
import { defineConfig } from "prisma/config";

// Prisma's CLI cannot download its native schema engine offline; prisma/schema-engine.mjs speaks the
// same protocol over Prisma's own WASM engine. A user can still point this at a native binary.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.resolve("prisma/schema-engine.mjs");

export default defineConfig({
  schema: "../prisma/schema.prisma",
  migrations: { path: "../prisma/migrations" },
  datasource: {
    // No DATABASE_URL: the embedded PGlite database that `npm run dev` uses.
    url: process.env.DATABASE_URL || `pglite:${path.resolve(process.env.PGLITE_DIR || ".data/pglite")}`,
  },
});
