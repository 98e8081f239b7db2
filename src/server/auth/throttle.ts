import type { Redis } from "@upstash/redis";
import { sha256 } from "./tokens";

// Account throttling instead of lockout (a lockout would let anyone lock a victim out): after
// `after` password attempts for one account without a success, each further attempt must wait a
// delay that doubles (1 s, 2 s, 4 s, ...) up to `maxMs`. The attempt is counted, and the next
// delay set, in one Lua script BEFORE the password is checked, so concurrent guesses cannot slip
// through while a hash is being computed. A success resets it. Keys are per normalized email
// (hashed), whether or not an account exists, so the answer reveals nothing about existence.
// Counters are forgotten a day after the last attempt.

const BASE_DELAY_MS = 1000;
const FORGET_AFTER_MS = 86_400_000;

// KEYS: throttle. ARGV: now, after, base ms, max ms, keep ms.
// Returns { allowed (0|1), wait ms, attempts }.
const BEGIN_ATTEMPT = `
local key = KEYS[1]
local now, after, base, max, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
-- tonumber, not str(): the embedded Redis hands numeric hash values to Lua as numbers.
local blocked = tonumber(redis.call('HGET', key, 'blockedUntil')) or 0
local attempts = tonumber(redis.call('HGET', key, 'attempts')) or 0
if now < blocked then return { 0, blocked - now, attempts } end
attempts = redis.call('HINCRBY', key, 'attempts', 1)
if attempts >= after then
  local delay = math.floor(math.min(base * (2 ^ (attempts - after)), max))
  redis.call('HSET', key, 'blockedUntil', string.format('%.0f', now + delay))
end
redis.call('PEXPIRE', key, keep)
return { 1, 0, attempts }
`;

export interface ThrottlePolicy {
  /** Attempts without a success after which each further one must wait. */
  after: number;
  maxDelayMs: number;
}

export class AccountThrottle {
  private readonly begin;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly policy: ThrottlePolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.begin = redis.createScript<unknown[]>(BEGIN_ATTEMPT);
  }

  private key(email: string) {
    return `${this.prefix}throttle:signin:${sha256(email)}`;
  }

  /**
   * Counts one password attempt for the account. Not allowed: how long to wait. `throttling`:
   * this attempt is the one after which waiting starts (tell the owner once).
   */
  async beginAttempt(email: string): Promise<{ allowed: true; attempts: number; throttling: boolean } | { allowed: false; retryAfterMs: number }> {
    const [allowed, wait, attempts] = (await this.begin.exec(
      [this.key(email)],
      [String(this.now()), String(this.policy.after), String(BASE_DELAY_MS), String(this.policy.maxDelayMs), String(FORGET_AFTER_MS)],
    )) as unknown as [unknown, unknown, unknown];
    if (Number(allowed) !== 1) return { allowed: false, retryAfterMs: Number(wait) };
    return { allowed: true, attempts: Number(attempts), throttling: Number(attempts) === this.policy.after };
  }

  async reset(email: string): Promise<void> {
    await this.redis.del(this.key(email));
  }
}
