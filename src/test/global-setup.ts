import { execFileSync } from "node:child_process";
import path from "node:path";
import { resetDatabase } from "./database";

// Integration tests run against the real PostgreSQL and Redis (started by .ci/services.sh),
// in a database of their own and under a Redis key prefix per test; the `cluster` project also
// against a local Redis Cluster, started here when it is down (.ci/redis-cluster.sh).
// Each vitest project runs this: the first one does the work.
export default async function setup() {
  if (process.env.HANDOFF_TEST_SETUP_DONE) return;
  process.env.HANDOFF_TEST_SETUP_DONE = "1";
  process.env.TEST_DATABASE_URL = await resetDatabase(process.env.TEST_DATABASE_NAME ?? "handoff_test");
  process.env.TEST_REDIS_URL ??= "redis://127.0.0.1:6379/1";
  if (!process.env.TEST_REDIS_CLUSTER_NODES) {
    execFileSync("bash", [path.resolve(import.meta.dirname, "../../.ci/redis-cluster.sh"), "start"], { stdio: "inherit" });
    process.env.TEST_REDIS_CLUSTER_NODES = "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002";
  }
  // Request lines stay out of the test output; warnings and errors (with stacks) still show.
  process.env.LOG_LEVEL ??= "warn";
}
