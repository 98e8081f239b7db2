import { resetDatabase } from "./database";

// Integration tests run against the real PostgreSQL and Redis (started by .ci/services.sh),
// in a database of their own and under a Redis key prefix per test.
export default async function setup() {
  process.env.TEST_DATABASE_URL = await resetDatabase(process.env.TEST_DATABASE_NAME ?? "handoff_test");
  process.env.TEST_REDIS_URL ??= "redis://127.0.0.1:6379/1";
  // Request lines stay out of the test output; warnings and errors (with stacks) still show.
  process.env.LOG_LEVEL ??= "warn";
}
