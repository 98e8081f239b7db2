import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configurationProblems } from "~/server/platform/startup-check";

describe("configuration check at start", () => {
  it("lists every invalid variable", () => {
    const problems = configurationProblems({ NODE_ENV: "production", SESSION_LIMIT: "-1", APP_URL: "not a url" });
    expect(problems.join("\n")).toMatch(/SESSION_LIMIT/);
    expect(problems.join("\n")).toMatch(/APP_URL/);
    expect(problems.join("\n")).toMatch(/SESSION_SECRET must be set in production/);
    expect(problems.join("\n")).toMatch(/SMTP_URL must be set in production/);
  });

  it("reports a failure that is not a listed validation problem (an unwritable data folder) instead of passing", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "handoff-config-")), "not-a-folder");
    fs.writeFileSync(file, "");
    const problems = configurationProblems({ NODE_ENV: "development", DATA_DIR: path.join(file, "data") });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/ENOTDIR|not a directory/i);
  });

  it("reports a signing key that cannot be used", () => {
    const problems = configurationProblems({ NODE_ENV: "test", SESSION_SECRET: "x".repeat(40), JWT_SIGNING_KEY: '{"kty":"RSA"}' });
    expect(problems).toEqual([expect.stringMatching(/JWT_SIGNING_KEY/)]);
  });

  it("a good configuration has no problems", () => {
    expect(
      configurationProblems({
        NODE_ENV: "production",
        SESSION_SECRET: "x".repeat(40),
        MAIL_ENABLED: "false",
        DATABASE_URL: "postgresql://h/db",
        REDIS_URL: "redis://h:6379",
      }),
    ).toEqual([]);
  });

  describe("no silent demo mode in production", () => {
    const production = { NODE_ENV: "production", SESSION_SECRET: "x".repeat(40), MAIL_ENABLED: "false" };

    it("refuses the in-memory Redis and the embedded database, saying exactly what to set", () => {
      const problems = configurationProblems(production);
      expect(problems).toEqual([
        expect.stringMatching(/^DATABASE_URL is not set, so the embedded PGlite database would be used: set DATABASE_URL=postgresql:\/\/.*ALLOW_EMBEDDED=true/),
        expect.stringMatching(
          /^No Redis is configured, so sessions would live in memory .*set REDIS_URL=redis:\/\/.*UPSTASH_REDIS_REST_URL.*ALLOW_EMBEDDED=true/,
        ),
      ]);
    });

    it("refuses each one alone, and an empty value counts as unset", () => {
      expect(configurationProblems({ ...production, DATABASE_URL: "postgresql://h/db", REDIS_URL: "" })).toEqual([
        expect.stringMatching(/^No Redis is configured/),
      ]);
      expect(configurationProblems({ ...production, REDIS_URL: "redis://h:6379" })).toEqual([expect.stringMatching(/^DATABASE_URL is not set/)]);
      expect(
        configurationProblems({
          ...production,
          DATABASE_URL: "postgresql://h/db",
          UPSTASH_REDIS_REST_URL: "https://x.upstash.io",
          UPSTASH_REDIS_REST_TOKEN: "t",
        }),
      ).toEqual([]);
    });

    it("lists them together with every other problem", () => {
      const problems = configurationProblems({ NODE_ENV: "production" }).join("\n");
      expect(problems).toMatch(/SESSION_SECRET must be set in production/);
      expect(problems).toMatch(/DATABASE_URL is not set/);
      expect(problems).toMatch(/No Redis is configured/);
    });

    it("runs embedded with an explicit ALLOW_EMBEDDED=true", () => {
      expect(configurationProblems({ ...production, ALLOW_EMBEDDED: "true" })).toEqual([]);
    });

    it("keeps development (npm run dev) embedded by default", () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "handoff-config-"));
      expect(configurationProblems({ NODE_ENV: "development", DATA_DIR: dataDir })).toEqual([]);
    });
  });
});
