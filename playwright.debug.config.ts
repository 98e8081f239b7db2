import { defineConfig, devices } from "@playwright/test";
import { chromiumLaunchOptions } from "./playwright.config";
export default defineConfig({ testDir: "e2e", workers: 2, timeout: 30_000, expect: { timeout: 10_000 }, use: { baseURL: "http://localhost:3400", launchOptions: chromiumLaunchOptions, trace: "retain-on-failure" }, projects: [{ name: "desktop", use: { ...devices["Desktop Chrome"], launchOptions: chromiumLaunchOptions } }] });
