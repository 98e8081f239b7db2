import path from "node:path";
import { defineConfig } from "vitest/config";

const root = path.resolve(import.meta.dirname, "..");

/**
 * The Redis-facing test files, run a second time against the local Redis Cluster (3 masters + 3
 * replicas, .ci/redis-cluster.sh) by the `cluster` project: every script with its keys in one
 * slot, SCAN and multi-key commands across nodes, the same answers as on one Redis.
 * (security/races.test.ts stays single-Redis only: two copies of it at once on two cores ran past
 * the test timeout; the concurrency of the cluster's scripts is covered by sessions/store.test.ts.)
 */
const REDIS_FACING = [
  "src/server/platform/redis/contract.test.ts",
  "src/server/platform/redis/cluster.test.ts",
  // Its own cluster on 7100-7105: a master is killed under load.
  "src/server/platform/redis/failover.test.ts",
  "src/server/platform/short-lived-records.test.ts",
  "src/server/sessions/*.test.ts",
  "src/server/approvals/*.test.ts",
  "src/server/handoff/*.test.ts",
  "src/server/live/*.test.ts",
  "src/server/devices/device-cache.test.ts",
  "src/server/tokens/tokens.test.ts",
  "src/server/two-factor/*.test.ts",
  "src/server/passkeys/*.test.ts",
  "src/server/security/throttle.test.ts",
  "src/server/security/abuse.test.ts",
  "src/server/account/account-deletion.test.ts",
  "src/server/account/password-reset.test.ts",
  "src/server/account/email-verification.test.ts",
];

export default defineConfig({
  root,
  resolve: {
    alias: {
      "~": path.join(root, "src"),
      // Only guards against bundling server code into the browser; tests run on the server.
      "server-only": path.join(root, "src/test/empty-module.ts"),
    },
  },
  test: {
    globalSetup: [path.join(root, "src/test/global-setup.ts")],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Test files share one database; each test uses its own users and a unique Redis key prefix.
    fileParallelism: true,
    pool: "forks",
    projects: [
      // Everything, on one Redis (and the embedded one where a test asks for it).
      {
        extends: true,
        test: {
          name: "redis",
          include: ["src/**/*.test.ts", "scripts/**/*.test.ts"],
          exclude: ["src/server/platform/redis/cluster.test.ts", "src/server/platform/redis/failover.test.ts"],
        },
      },
      // The Redis-facing files again, on Redis Cluster (src/test/harness.ts reads TEST_REDIS_TARGET).
      { extends: true, test: { name: "cluster", include: REDIS_FACING, env: { TEST_REDIS_TARGET: "cluster" } } },
    ],
  },
});
