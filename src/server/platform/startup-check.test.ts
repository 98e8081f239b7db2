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
});
