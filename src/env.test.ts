import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnv } from "./env";

describe("configuration", () => {
  it("has working defaults for the zero-install demo", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "handoff-env-"));
    const env = parseEnv({ DATA_DIR: dataDir });
    expect(env).toMatchObject({ APP_URL: "http://localhost:3000", SESSION_IDLE_MINUTES: 60, SESSION_MAX_DAYS: 30, TRUST_PROXY: false });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
    // A generated secret, kept for the next start.
    expect(env.SESSION_SECRET.length).toBeGreaterThanOrEqual(32);
    expect(parseEnv({ DATA_DIR: dataDir }).SESSION_SECRET).toBe(env.SESSION_SECRET);
  });

  it("explains what is wrong, all at once", () => {
    let message = "";
    try {
      parseEnv({ SESSION_SECRET: "short", APP_URL: "not a url", DATABASE_URL: "mysql://x", REDIS_URL: "http://x", SESSION_IDLE_MINUTES: "0" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Invalid configuration:/);
    for (const expected of [
      "SESSION_SECRET must be at least 32 characters",
      "APP_URL must be an absolute URL",
      "DATABASE_URL must be a postgres:// or postgresql:// URL",
      "REDIS_URL must be a redis:// or rediss:// URL",
      "SESSION_IDLE_MINUTES must be a whole number of minutes from 1",
    ]) {
      expect(message).toContain(expected);
    }
  });

  it("requires SESSION_SECRET in production and a token with an Upstash URL", () => {
    expect(() => parseEnv({ NODE_ENV: "production" })).toThrow(/SESSION_SECRET must be set in production/);
    expect(() => parseEnv({ SESSION_SECRET: "x".repeat(32), UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io" })).toThrow(
      /UPSTASH_REDIS_REST_TOKEN is required/,
    );
  });

  it("reads booleans and numbers from strings", () => {
    const env = parseEnv({ SESSION_SECRET: "x".repeat(32), TRUST_PROXY: "true", SESSION_IDLE_MINUTES: "15", SESSION_MAX_DAYS: "7" });
    expect(env).toMatchObject({ TRUST_PROXY: true, SESSION_IDLE_MINUTES: 15, SESSION_MAX_DAYS: 7 });
  });

  it("reads .env.example as it ships: an empty NAME= means not set", () => {
    const example = fs.readFileSync(path.join(import.meta.dirname, "..", ".env.example"), "utf8");
    const vars = Object.fromEntries(
      example.split("\n").flatMap((line) => (/^[A-Z_]+=/.test(line) ? [[line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]] : [])),
    );
    expect(vars.PASSWORD_HASH_CONCURRENCY).toBe("");
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "handoff-env-"));
    const env = parseEnv({ ...vars, DATA_DIR: dataDir });
    expect(env).toMatchObject({ PASSWORD_HASH_NICE: 10, MAIL_ENABLED: true, NEW_DEVICE_APPROVAL: true, TRUST_PROXY: false });
    for (const unset of ["PASSWORD_HASH_CONCURRENCY", "DATABASE_URL", "REDIS_URL", "SMTP_URL", "JWT_SIGNING_KEY"] as const) expect(env[unset]).toBeUndefined();
  });

  it("names the variable when a flag is not true or false", () => {
    const wrong = () => parseEnv({ SESSION_SECRET: "x".repeat(32), MAIL_ENABLED: "yes", METRICS_ENABLED: "on" });
    expect(wrong).toThrow(/MAIL_ENABLED must be true or false/);
    expect(wrong).toThrow(/METRICS_ENABLED must be true or false/);
  });

  it("refuses a REDIS_PREFIX with braces (it would be a Redis Cluster hash tag)", () => {
    for (const prefix of ["{app}:", "app}:", "a{b:"]) {
      expect(() => parseEnv({ SESSION_SECRET: "x".repeat(32), REDIS_PREFIX: prefix })).toThrow(/REDIS_PREFIX must not contain \{ or \}/);
    }
    expect(parseEnv({ SESSION_SECRET: "x".repeat(32), REDIS_PREFIX: "app:" }).REDIS_PREFIX).toBe("app:");
  });

  it("REDIS_CLUSTER_NODES: host:port list, and not together with REDIS_URL or Upstash", () => {
    const secret = { SESSION_SECRET: "x".repeat(32) };
    expect(parseEnv({ ...secret, REDIS_CLUSTER_NODES: "10.0.0.1:6379, redis-2.internal:7000" }).REDIS_CLUSTER_NODES).toEqual([
      "10.0.0.1:6379",
      "redis-2.internal:7000",
    ]);
    expect(parseEnv(secret).REDIS_CLUSTER_NODES).toEqual([]);
    expect(() => parseEnv({ ...secret, REDIS_CLUSTER_NODES: "redis://10.0.0.1:6379" })).toThrow(/REDIS_CLUSTER_NODES must be host:port,host:port/);
    expect(() => parseEnv({ ...secret, REDIS_CLUSTER_NODES: "10.0.0.1:6379", REDIS_URL: "redis://10.0.0.1:6379" })).toThrow(
      /REDIS_CLUSTER_NODES cannot be combined with REDIS_URL or UPSTASH_REDIS_REST_URL/,
    );
    expect(() =>
      parseEnv({ ...secret, REDIS_CLUSTER_NODES: "10.0.0.1:6379", UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" }),
    ).toThrow(/REDIS_CLUSTER_NODES cannot be combined/);
  });
});
