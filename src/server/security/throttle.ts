import type { Redis } from "@upstash/redis";
import { AuthError, isErrorNamed } from "~/server/platform/errors";
import type { AdmissionFullError } from "~/server/platform/hash-pool";
import { metrics } from "~/server/platform/metrics";
import { admitPasswordCheck } from "~/server/platform/password";
import { randomToken, sha256 } from "~/server/platform/crypto";
import { braced } from "~/server/platform/redis/keys";
import { THROTTLE_BASE_DELAY_MS, THROTTLE_FORGET_AFTER_MS, THROTTLE_IN_FLIGHT_MAX_MS } from "~/server/policy";

// Account throttling instead of lockout (a lockout would let anyone lock a victim out): after
// `after` password attempts for one account without a success, each further attempt must wait a
// delay that doubles (1 s, 2 s, 4 s, ...) up to `maxMs`. The attempt is counted, and the next
// delay set, in one Lua script BEFORE the password is checked, so concurrent guesses cannot slip
// through while a hash is being computed. Attempts still being checked are kept apart (a sorted
// set, by start time), so a wait caused by attempts in flight is told as such, not as failures.
// A success sets the count back to the attempts still in flight. Keys are per normalized email
// (hashed), whether or not an account exists, so the answer reveals nothing about existence.
// Counters are forgotten a day after the last attempt.

type ThrottleReason = "too_many_failures" | "attempts_in_flight";

// KEYS: throttle, in-flight set. ARGV: now, after, base ms, max ms, keep ms, attempt id, in-flight max ms.
// Returns { 1, 0, attempts } or { 0, wait ms, reason }.
const BEGIN_ATTEMPT = `
local key, inflight = KEYS[1], KEYS[2]
local now, after, base, max, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now - tonumber(ARGV[7]))
-- tonumber, not str(): the embedded Redis hands numeric hash values to Lua as numbers.
local blocked = tonumber(redis.call('HGET', key, 'blockedUntil')) or 0
local attempts = tonumber(redis.call('HGET', key, 'attempts')) or 0
if now < blocked then
  local failures = attempts - redis.call('ZCARD', inflight)
  return { 0, blocked - now, failures >= after and 'too_many_failures' or 'attempts_in_flight' }
end
attempts = redis.call('HINCRBY', key, 'attempts', 1)
if attempts >= after then
  local delay = math.floor(math.min(base * (2 ^ (attempts - after)), max))
  redis.call('HSET', key, 'blockedUntil', string.format('%.0f', now + delay))
end
redis.call('PEXPIRE', key, keep)
redis.call('ZADD', inflight, now, ARGV[6])
redis.call('PEXPIRE', inflight, keep)
return { 1, 0, attempts }
`;

// KEYS: throttle, in-flight set. ARGV: attempt id, '1' when the password was right.
// A success forgets the failures but keeps counting the attempts still in flight.
const FINISH_ATTEMPT = `
local key, inflight = KEYS[1], KEYS[2]
redis.call('ZREM', inflight, ARGV[1])
if ARGV[2] ~= '1' then return 0 end
local left = redis.call('ZCARD', inflight)
if left == 0 then
  redis.call('DEL', key, inflight)
else
  redis.call('HSET', key, 'attempts', left)
  redis.call('HDEL', key, 'blockedUntil')
end
return 1
`;

export interface ThrottlePolicy {
  /** Attempts without a success after which each further one must wait. */
  after: number;
  maxDelayMs: number;
}

export type Attempt = { allowed: true; id: string; attempts: number; throttling: boolean } | { allowed: false; retryAfterMs: number; reason: ThrottleReason };

export class AccountThrottle {
  private readonly begin;
  private readonly finish;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly policy: ThrottlePolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.begin = redis.createScript<unknown[]>(BEGIN_ATTEMPT);
    this.finish = redis.createScript<number>(FINISH_ATTEMPT);
  }

  private keys(email: string) {
    // The hash in braces: both keys of one account hash to one Redis Cluster slot.
    const key = braced(this.prefix, "throttle:signin", sha256(email));
    return [key, `${key}:inflight`];
  }

  /**
   * Counts one password attempt for the account. Not allowed: how long to wait, and why.
   * `throttling`: this attempt is the one after which waiting starts (tell the owner once).
   * Every allowed attempt must be finished with `finishAttempt`.
   */
  async beginAttempt(email: string): Promise<Attempt> {
    const id = randomToken(12);
    const [allowed, wait, third] = (await this.begin.exec(this.keys(email), [
      String(this.now()),
      String(this.policy.after),
      String(THROTTLE_BASE_DELAY_MS),
      String(this.policy.maxDelayMs),
      String(THROTTLE_FORGET_AFTER_MS),
      id,
      String(THROTTLE_IN_FLIGHT_MAX_MS),
    ])) as unknown as [unknown, unknown, unknown];
    if (Number(allowed) !== 1)
      return { allowed: false, retryAfterMs: Number(wait), reason: third === "too_many_failures" ? "too_many_failures" : "attempts_in_flight" };
    return { allowed: true, id, attempts: Number(third), throttling: Number(third) === this.policy.after };
  }

  /** Forgets the account's failures (a password reset proved who the owner is). */
  async clear(email: string): Promise<void> {
    await this.redis.del(...this.keys(email));
  }

  /** The attempt's password was checked: right (resets the failures) or wrong (they stay counted). */
  async finishAttempt(email: string, id: string, right: boolean): Promise<void> {
    await this.finish.exec(this.keys(email), [id, right ? "1" : "0"]);
  }
}

/** What one kind of password check says when it has to wait. */
export interface ThrottleWording {
  /** "Too many <failures> for this account." */
  failures: string;
  /** "Too many <attempts> at once for this account." */
  attempts: string;
}

export const SIGN_IN_WORDING: ThrottleWording = { failures: "failed sign-ins", attempts: "sign-in attempts" };
export const PASSWORD_WORDING: ThrottleWording = { failures: "wrong passwords", attempts: "password checks" };

const waitError = (reason: ThrottleReason | "network_busy", retryAfter: number, wording: ThrottleWording) => {
  metrics().throttleHits.inc({ reason });
  const what =
    reason === "too_many_failures"
      ? `Too many ${wording.failures} for this account.`
      : reason === "attempts_in_flight"
        ? `Too many ${wording.attempts} at once for this account.`
        : "Too many password checks at once from your network.";
  return new AuthError("TOO_MANY_REQUESTS", `${what} Try again in ${retryAfter} s.`, { reason, retryAfterSeconds: retryAfter });
};

export interface PasswordCheck {
  /** The normalized email: the per-account admission's key, and the throttle's unless `throttleKey` says otherwise. */
  email: string;
  /**
   * What the throttle counts under, when not the account: a signed-in session's own password
   * checks (lockout, password change, re-authentication) count under that session, so that
   * someone guessing on the sign-in form cannot delay the owner's emergency lockout, while a
   * stolen cookie still gets only `after` guesses before waiting (and cannot mint more sessions
   * without the password).
   */
  throttleKey?: string;
  ip: string;
  /** null for an unknown email: checked against a dummy hash all the same. */
  storedHash: string | null | undefined;
  password: string;
  /** Skips the throttle (not the admission limit): the owner's own known device. */
  exempt?: boolean;
  wording: ThrottleWording;
  /** Told before the TOO_MANY_REQUESTS answer for a throttled attempt (e.g. to log it). */
  onThrottled?(reason: ThrottleReason): Promise<void>;
  /** Told once, on the attempt after which the account's attempts must wait. */
  onThrottlingStarts?(attempts: number): Promise<void>;
}

/**
 * Every password check of the app goes through here: first the account throttle (before any
 * hashing, so concurrent guesses are counted at once), then a per-account and per-IP admission
 * limit on concurrent checks (platform/password.ts: one client cannot fill the hashing threads, e.g. from
 * a known device, which the throttle exempts), then argon2. Returns whether the password is right;
 * TOO_MANY_REQUESTS (data.reason too_many_failures | attempts_in_flight | network_busy) when it
 * must wait.
 */
export async function checkPassword(throttle: AccountThrottle, check: PasswordCheck): Promise<boolean> {
  let attempt: Attempt | null = null;
  if (!check.exempt) {
    attempt = await throttle.beginAttempt(check.throttleKey ?? check.email);
    if (!attempt.allowed) {
      const retryAfter = Math.max(1, Math.ceil(attempt.retryAfterMs / 1000));
      await check.onThrottled?.(attempt.reason);
      throw waitError(attempt.reason, retryAfter, check.wording);
    }
  }
  let right = false;
  try {
    if (attempt?.throttling) await check.onThrottlingStarts?.(attempt.attempts);
    let admitted;
    try {
      admitted = await admitPasswordCheck({ account: check.email, ip: check.ip });
    } catch (error) {
      if (!isErrorNamed<AdmissionFullError>(error, "AdmissionFullError")) throw error;
      throw waitError(error.kind === "account" ? "attempts_in_flight" : "network_busy", 1, check.wording);
    }
    try {
      right = await admitted.verify(check.storedHash, check.password);
    } finally {
      admitted.release();
    }
    return right;
  } finally {
    if (attempt?.allowed) await throttle.finishAttempt(check.throttleKey ?? check.email, attempt.id, right);
  }
}
