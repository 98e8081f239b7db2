import { defineConfig, devices } from "@playwright/test";

const PORT = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://localhost:${PORT}`;
/** A second server with PRESET=classic (see e2e/serve.ts). */
export const classicURL = `http://localhost:${Number(process.env.E2E_CLASSIC_PORT ?? 3101)}`;
const database = process.env.E2E_DATABASE_NAME ?? "handoff_e2e";
/** The default server (A) and two more instances of it (B, C) sharing its APP_URL, database and Redis. */
export const instancePorts = { A: PORT, B: PORT + 2, C: PORT + 3 } as const;
/** The servers' stdout (JSON request logs), one file per port (e2e/serve.ts). */
export const serverLogDir = process.env.E2E_LOG_DIR ?? `/tmp/handoff-e2e-logs-${PORT}`;
/** /api/metrics needs it (e2e/metrics.spec.ts). */
export const metricsToken = "e2e-metrics-token-0123456789abcdef";

export const chromiumLaunchOptions = {
  // Debian's Chromium: Playwright's own browser download is not available offline.
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
};

export default defineConfig({
  testDir: "e2e",
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [["list"]] : [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: chromiumLaunchOptions,
  },
  // Sign-in flows run on both screens; multi-device flows (several contexts of their own) on the
  // desktop project; *.phone.spec.ts are phone layouts.
  projects: [
    { name: "desktop", testIgnore: /\.phone\.spec\.ts$/, use: { ...devices["Desktop Chrome"], launchOptions: chromiumLaunchOptions } },
    { name: "phone", testMatch: [/auth\.spec\.ts$/, /\.phone\.spec\.ts$/], use: { ...devices["Pixel 7"], launchOptions: chromiumLaunchOptions } },
    // The benchmark smoke run, alone after the browser tests (it loads the machine).
    { name: "bench-smoke", testMatch: /bench\.smoke\.ts$/, dependencies: ["desktop", "phone"] },
    // The servers' logs of the whole run, once every browser test has written to them.
    { name: "logs", testMatch: /logs\.check\.ts$/, dependencies: ["desktop", "phone"] },
  ],
  // The production build (next build + next start, twice: default and PRESET=classic) on the
  // real PostgreSQL and Redis.
  webServer: {
    command: "npx tsx e2e/serve.ts",
    url: `${baseURL}/api/health`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      NODE_ENV: "production",
      // Email is tested in the integration suite against a real SMTP server (smtp-server).
      MAIL_ENABLED: "false",
      APP_URL: baseURL,
      DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${database}`,
      E2E_DATABASE_NAME: database,
      E2E_PORT: String(PORT),
      REDIS_URL: process.env.E2E_REDIS_URL ?? "redis://127.0.0.1:6379/2",
      REDIS_PREFIX: `handoff-e2e:${Date.now()}:`,
      SESSION_SECRET: "e2e-session-secret-at-least-32-characters-long",
      METRICS_TOKEN: metricsToken,
      E2E_LOG_DIR: serverLogDir,
    },
  },
});
