import { hash, verify, type Options as Argon2Options } from "@node-rs/argon2";
import type { BetterAuthOptions } from "better-auth";
import pg from "pg";
import { redisSecondaryStorage } from "./secondary-storage";

/**
 * The peer's configuration, from the environment the bench starts it with: better-auth's
 * recommended setup for PostgreSQL (its built-in Kysely adapter on a `pg` Pool) with Redis as
 * secondary storage, email and password sign-in.
 *
 *   BETTER_AUTH_COOKIE_CACHE=on   session.cookieCache on, default maxAge (5 minutes)
 *   BETTER_AUTH_ARGON2=<json>     password hash/verify with @node-rs/argon2 and these options
 *                                 (Handoff's PASSWORD_HASH_OPTIONS); unset: better-auth's default scrypt
 */
export function peerOptions(env: Record<string, string | undefined> = process.env): BetterAuthOptions {
  const argon2 = env.BETTER_AUTH_ARGON2 ? (JSON.parse(env.BETTER_AUTH_ARGON2) as Argon2Options) : undefined;
  return {
    baseURL: env.BETTER_AUTH_URL,
    secret: env.BETTER_AUTH_SECRET,
    database: new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.DATABASE_POOL_SIZE ?? 10) }),
    secondaryStorage: redisSecondaryStorage(env.REDIS_URL ?? "redis://127.0.0.1:6379", env.REDIS_PREFIX ?? "better-auth:"),
    emailAndPassword: {
      enabled: true,
      ...(argon2 && { password: { hash: (password) => hash(password, argon2), verify: ({ hash: stored, password }) => verify(stored, password) } }),
    },
    session: { cookieCache: { enabled: env.BETTER_AUTH_COOKIE_CACHE === "on" } },
    // As in Handoff's bench: sign-in stays rate limited per IP (one Redis INCR, as ours), with a
    // limit the bench never reaches; session reads are not rate limited (ours are not either).
    rateLimit: {
      enabled: true,
      max: 1_000_000,
      customRules: {
        "/sign-in/*": { window: 60, max: 100_000 },
        "/sign-up/*": { window: 60, max: 100_000 },
        "/get-session": false,
        "/list-sessions": false,
      },
    },
    telemetry: { enabled: false },
  };
}
