import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { expect, test } from "@playwright/test";

// The benchmark suite with tiny durations, on the production build the other e2e tests use, so
// it cannot rot. It runs after them (its own Playwright project) and starts its own servers.
test("npm run bench -- --smoke runs every section and writes its report", async () => {
  test.setTimeout(360_000);
  const output = execFileSync("npx", ["tsx", "--tsconfig", "tsconfig.json", "bench/run.ts", "--smoke"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const section of [
    "## 1. Session validation",
    "## 2. Listing",
    "## 2b.",
    "## 3. Sign-in",
    "## 4. QR handoff",
    "## 5. Revocation",
    "## 6. Redis memory",
    "## 7. Live updates",
  ]) {
    expect(output).toContain(section);
  }
  // Redis's counters are server-wide: other clients of the same Redis (the e2e servers' live
  // polls) add a little; more than one extra round trip per request would be ours.
  const roundTrips = Number(/Redis round trips per validated request (\d+\.\d+)/.exec(output)?.[1]);
  expect(roundTrips).toBeGreaterThanOrEqual(1);
  expect(roundTrips).toBeLessThan(1.5);
  expect(output).toMatch(/rejected on the very next request \| 3 of 3/);
  const results = JSON.parse(fs.readFileSync("bench/results/latest.json", "utf8")) as {
    smoke: boolean;
    memory: { bytesPerSession: number };
    live: { push: { commandsPerSecond: number; notices: number[] }; poll: { commandsPerSecond: number } };
  };
  expect(results.smoke).toBe(true);
  expect(results.memory.bytesPerSession).toBeGreaterThan(0);
  // Idle pages on the pub/sub hub cost (nearly) nothing; polling, every page reads every LIVE_POLL_MS.
  expect(results.live.push.commandsPerSecond).toBeLessThan(20);
  expect(results.live.poll.commandsPerSecond).toBeGreaterThan(results.live.push.commandsPerSecond * 10);
  expect(Math.max(...results.live.push.notices)).toBeLessThan(2_000);
});
