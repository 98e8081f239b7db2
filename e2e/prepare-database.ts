import { resetDatabase } from "../src/test/database";

// Run by playwright.config.ts before the production server starts.
await resetDatabase(process.env.E2E_DATABASE_NAME ?? "handoff_e2e");
