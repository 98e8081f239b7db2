import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";

// parseEnv drops empty values first, so `NAME=` (as in .env.example) means "not set" everywhere.

const flag = (name: string, byDefault: boolean) =>
  z
    .enum(["true", "false", "1", "0"], { message: `${name} must be true or false` })
    .optional()
    .transform((v) => (v === undefined ? byDefault : v === "true" || v === "1"));

/** A URL whose scheme is checked (postgres://, redis://, smtp://...). */
const urlOf = (scheme: RegExp, message: string) => z.string().regex(scheme, { message }).optional();

const wholeNumber = (message: string, min: number, max: number) => z.coerce.number({ message }).int({ message }).min(min, { message }).max(max, { message });

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    APP_URL: z.url({ message: "APP_URL must be an absolute URL such as https://auth.example.com" }).default("http://localhost:3000"),
    SESSION_SECRET: z.string().min(32, { message: "SESSION_SECRET must be at least 32 characters" }).optional(),
    DATABASE_URL: urlOf(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// or postgresql:// URL"),
    DATABASE_POOL_SIZE: wholeNumber("DATABASE_POOL_SIZE must be a whole number of connections from 1 to 500", 1, 500).default(10),
    DATA_DIR: z.string().default(".data"),
    REDIS_URL: urlOf(/^rediss?:\/\//, "REDIS_URL must be a redis:// or rediss:// URL"),
    // Braces would make the prefix a Redis Cluster hash tag: every key in one slot, and the app's own tags ignored.
    REDIS_PREFIX: z
      .string()
      .regex(/^[^{}]*$/, { message: "REDIS_PREFIX must not contain { or } (Redis Cluster would read them as a hash tag)" })
      .default("handoff:"),
    // host:port,host:port,...: some nodes of a Redis Cluster (the client finds the others).
    REDIS_CLUSTER_NODES: z
      .string()
      .optional()
      .transform((value) =>
        (value ?? "")
          .split(",")
          .map((node) => node.trim())
          .filter(Boolean),
      )
      .refine((nodes) => nodes.every((node) => /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/.test(node)), {
        message: "REDIS_CLUSTER_NODES must be host:port,host:port,... (some nodes of the cluster)",
      }),
    UPSTASH_REDIS_REST_URL: z.url().optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
    SESSION_IDLE_MINUTES: wholeNumber("SESSION_IDLE_MINUTES must be a whole number of minutes from 1 to 43200", 1, 43_200).default(60),
    SESSION_MAX_DAYS: wholeNumber("SESSION_MAX_DAYS must be a whole number of days from 1 to 400", 1, 400).default(30),
    TRUST_PROXY: flag("TRUST_PROXY", false),
    SESSION_LIMIT: wholeNumber("SESSION_LIMIT must be a whole number from 0 (no limit) to 1000", 0, 1000).default(5),
    SESSION_LIMIT_POLICY: z.enum(["reject", "evict-oldest"], { message: "SESSION_LIMIT_POLICY must be reject or evict-oldest" }).default("evict-oldest"),
    GEOIP_DIR: z.string().optional(),
    NEW_DEVICE_APPROVAL: flag("NEW_DEVICE_APPROVAL", true),
    APPROVAL_TTL_SECONDS: wholeNumber("APPROVAL_TTL_SECONDS must be a whole number of seconds from 30 to 3600", 30, 3600).default(300),
    HANDOFF_TTL_SECONDS: wholeNumber("HANDOFF_TTL_SECONDS must be a whole number of seconds from 10 to 3600", 10, 3600).default(120),
    HANDOFF_POLL_MS: wholeNumber("HANDOFF_POLL_MS must be a whole number of milliseconds from 50 to 5000", 50, 5000).default(250),
    HANDOFF_RATE_LIMIT: wholeNumber("HANDOFF_RATE_LIMIT must be a whole number of requests per minute from 1 to 10000", 1, 10_000).default(10),
    APPROVAL_RATE_LIMIT: wholeNumber(
      "APPROVAL_RATE_LIMIT must be a whole number of new-device approval requests per account per minute from 1 to 10000",
      1,
      10_000,
    ).default(10),
    METRICS_ENABLED: flag("METRICS_ENABLED", false),
    /** Bearer token that /api/metrics (Prometheus) requires; without it the endpoint is off (404). */
    METRICS_TOKEN: z.string().min(16, { message: "METRICS_TOKEN must be at least 16 characters (e.g. `openssl rand -hex 32`)" }).optional(),
    /** Read directly by src/server/platform/logger.ts (the logger must work before the configuration is valid); listed here to validate it. */
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
        message: "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent",
      })
      .default("info"),
    HISTORY_RETENTION_DAYS: wholeNumber("HISTORY_RETENTION_DAYS must be a whole number of days from 0 (keep forever) to 36500", 0, 36_500).default(365),
    /** Read directly by src/server/platform/password.ts (at load); listed here to validate it. */
    PASSWORD_HASH_CONCURRENCY: wholeNumber("PASSWORD_HASH_CONCURRENCY must be a whole number from 1 to 64", 1, 64).optional(),
    /** Read directly by src/server/platform/password.ts: the hashing threads' nice value (0 = same priority as requests). */
    PASSWORD_HASH_NICE: wholeNumber("PASSWORD_HASH_NICE must be a whole number from 0 to 19", 0, 19).optional(),
    /** A private JWK (JSON) that signs access tokens: Ed25519 (EdDSA) or P-256 (ES256). Default: an Ed25519 key derived from SESSION_SECRET. */
    JWT_SIGNING_KEY: z.string().optional(),
    /** JSON array of JWKs (public or private) of retired signing keys whose tokens are still accepted, and published in the JWKS. */
    JWT_PREVIOUS_KEYS: z.string().optional(),
    ACCESS_TOKEN_MINUTES: wholeNumber("ACCESS_TOKEN_MINUTES must be a whole number of minutes from 1 to 60", 1, 60).default(15),
    REFRESH_TOKEN_DAYS: wholeNumber("REFRESH_TOKEN_DAYS must be a whole number of days from 1 to 90", 1, 90).default(7),
    SIGN_IN_RATE_LIMIT: wholeNumber("SIGN_IN_RATE_LIMIT must be a whole number of attempts per minute from 1 to 100000", 1, 100_000).default(30),
    ACCOUNT_THROTTLE_AFTER: wholeNumber("ACCOUNT_THROTTLE_AFTER must be a whole number of failed sign-ins from 1 to 100", 1, 100).default(5),
    ACCOUNT_THROTTLE_MAX_SECONDS: wholeNumber("ACCOUNT_THROTTLE_MAX_SECONDS must be a whole number of seconds from 1 to 86400", 1, 86_400).default(900),
    REGISTER_RATE_LIMIT: wholeNumber("REGISTER_RATE_LIMIT must be a whole number of registrations per minute from 1 to 100000", 1, 100_000).default(10),
    TOKENS_FROM_SESSION_RATE_LIMIT: wholeNumber(
      "TOKENS_FROM_SESSION_RATE_LIMIT must be a whole number of app sign-ins per user per hour from 1 to 10000",
      1,
      10_000,
    ).default(10),
    REAUTH_MINUTES: wholeNumber("REAUTH_MINUTES must be a whole number of minutes from 1 to 1440", 1, 1440).default(10),
    SMTP_URL: urlOf(/^smtps?:\/\//, "SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtps://user:pass@smtp.example.com:465"),
    MAIL_FROM: z.string().default("Handoff <no-reply@localhost>"),
    /** false: send no email at all (what production must say explicitly to run without SMTP). */
    MAIL_ENABLED: flag("MAIL_ENABLED", true),
    PASSWORD_RESET_TTL_MINUTES: wholeNumber("PASSWORD_RESET_TTL_MINUTES must be a whole number of minutes from 5 to 1440", 5, 1440).default(30),
    EMAIL_VERIFICATION_TTL_HOURS: wholeNumber("EMAIL_VERIFICATION_TTL_HOURS must be a whole number of hours from 1 to 720", 1, 720).default(24),
    EMAIL_VERIFICATION: z.enum(["optional", "required"], { message: "EMAIL_VERIFICATION must be optional or required" }).default("optional"),
    PASSWORD_RESET_RATE_LIMIT: wholeNumber(
      "PASSWORD_RESET_RATE_LIMIT must be a whole number of reset requests per IP per minute from 1 to 10000",
      1,
      10_000,
    ).default(5),
    PASSWORD_RESET_ADDRESS_RATE_LIMIT: wholeNumber(
      "PASSWORD_RESET_ADDRESS_RATE_LIMIT must be a whole number of reset requests per address per hour from 1 to 1000",
      1,
      1000,
    ).default(3),
    ACCOUNT_MAIL_RATE_LIMIT: wholeNumber(
      "ACCOUNT_MAIL_RATE_LIMIT must be a whole number of verification and email-change links per user per hour from 1 to 1000",
      1,
      1000,
    ).default(5),
    ACCOUNT_LINK_RATE_LIMIT: wholeNumber("ACCOUNT_LINK_RATE_LIMIT must be a whole number of link uses per IP per minute from 1 to 100000", 1, 100_000).default(
      20,
    ),
    DATA_EXPORT_RATE_LIMIT: wholeNumber("DATA_EXPORT_RATE_LIMIT must be a whole number of data exports per user per hour from 1 to 1000", 1, 1000).default(5),
    PASSKEY_RATE_LIMIT: wholeNumber("PASSKEY_RATE_LIMIT must be a whole number of passkey requests per IP per minute from 1 to 100000", 1, 100_000).default(30),
    /** true: let NODE_ENV=production run on the embedded PGlite and in-memory Redis (src/server/platform/startup-check.ts). */
    ALLOW_EMBEDDED: flag("ALLOW_EMBEDDED", false),
    SHUTDOWN_TIMEOUT_MS: wholeNumber("SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds from 0 to 600000", 0, 600_000).default(10_000),
    LIVE_POLL_MS: wholeNumber("LIVE_POLL_MS must be a whole number of milliseconds from 100 to 10000", 100, 10_000).default(500),
    // Off: open pages poll Redis instead of waiting for its pub/sub notifications (for a Redis, or a
    // proxy in front of it, without pub/sub).
    LIVE_PUSH: flag("LIVE_PUSH", true),
    LIVE_STREAMS_PER_SESSION: wholeNumber(
      "LIVE_STREAMS_PER_SESSION must be a whole number of open live-update streams per session from 1 to 1000",
      1,
      1000,
    ).default(20),
    LIVE_STREAMS_PER_IP: wholeNumber(
      "LIVE_STREAMS_PER_IP must be a whole number of open live-update streams per client address from 1 to 100000",
      1,
      100_000,
    ).default(500),
  })
  .superRefine((env, ctx) => {
    if (env.REDIS_CLUSTER_NODES.length > 0 && (env.REDIS_URL || env.UPSTASH_REDIS_REST_URL)) {
      ctx.addIssue({
        code: "custom",
        path: ["REDIS_CLUSTER_NODES"],
        message: "REDIS_CLUSTER_NODES cannot be combined with REDIS_URL or UPSTASH_REDIS_REST_URL: set one way to reach Redis",
      });
    }
    if (env.UPSTASH_REDIS_REST_URL && !env.UPSTASH_REDIS_REST_TOKEN) {
      ctx.addIssue({ code: "custom", path: ["UPSTASH_REDIS_REST_TOKEN"], message: "UPSTASH_REDIS_REST_TOKEN is required with UPSTASH_REDIS_REST_URL" });
    }
    if (env.NODE_ENV === "production" && env.MAIL_ENABLED && !env.SMTP_URL && process.env.NEXT_PHASE !== "phase-production-build") {
      ctx.addIssue({
        code: "custom",
        path: ["SMTP_URL"],
        message: "SMTP_URL must be set in production so security alerts reach people (or set MAIL_ENABLED=false to run without email)",
      });
    }
    if (env.NODE_ENV === "production" && !env.SESSION_SECRET && process.env.NEXT_PHASE !== "phase-production-build") {
      ctx.addIssue({
        code: "custom",
        path: ["SESSION_SECRET"],
        message: "SESSION_SECRET must be set in production (at least 32 characters, e.g. `openssl rand -base64 32`)",
      });
    }
  });

export type Env = z.infer<typeof schema> & { SESSION_SECRET: string };

/** Outside production a missing secret is generated once and kept in the data folder. */
function localSessionSecret(dataDir: string): string {
  const file = path.resolve(dataDir, "session-secret");
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    const secret = crypto.randomBytes(32).toString("base64url");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  }
}

/**
 * Named bundles of defaults; a variable set explicitly still wins.
 * classic: one session by default, a second device only with the first one's approval (6-digit
 * code), and a third sign-in refused ("Already 2 sessions active").
 */
const PRESETS: Record<string, Record<string, string>> = {
  classic: { SESSION_LIMIT: "2", SESSION_LIMIT_POLICY: "reject", NEW_DEVICE_APPROVAL: "true" },
};

export function parseEnv(source: Record<string, string | undefined>): Env {
  const presetName = source.PRESET || undefined;
  if (presetName && !PRESETS[presetName]) {
    throw new Error(`Invalid configuration:\n  - PRESET must be one of: ${Object.keys(PRESETS).join(", ")} (PRESET)`);
  }
  const preset = presetName ? PRESETS[presetName]! : {};
  const withPreset = { ...preset, ...Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== "")) };
  const result = schema.safeParse(withPreset);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.message}${i.path.length ? ` (${i.path.join(".")})` : ""}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const env = result.data;
  return { ...env, SESSION_SECRET: env.SESSION_SECRET ?? localSessionSecret(env.DATA_DIR) };
}

let cached: Env | undefined;

/** The configuration, read and validated once on first use (not at import, so `next build` needs none). */
export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}
