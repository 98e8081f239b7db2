import path from "node:path";
import { defineConfig } from "vitest/config";

const root = path.resolve(import.meta.dirname, "..");

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
    include: ["src/**/*.test.ts", "scripts/**/*.test.ts"],
    globalSetup: [path.join(root, "src/test/global-setup.ts")],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Test files share one database; each test uses its own users and a unique Redis key prefix.
    fileParallelism: true,
    pool: "forks",
  },
});
