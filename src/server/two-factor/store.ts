import type { Redis } from "@upstash/redis";
import { randomToken, sha256 } from "~/server/platform/crypto";
import { braced, sessionSideKey, userSlotKey } from "~/server/platform/redis/keys";
import { REAUTH_CODE_REUSE_MS, SECOND_FACTOR_ATTEMPTS, SECOND_FACTOR_CHALLENGE_TTL_MS, TOTP_USED_STEP_KEPT_MS, TWO_FACTOR_SETUP_TTL_MS } from "~/server/policy";

// What two-factor keeps in Redis, each check-and-change one Lua script:
// - the secret twoFactor.setup showed, until twoFactor.enable confirms it (TWO_FACTOR_SETUP_TTL_MS);
// - sign-in challenges: after a correct password, the second step's state, under the SHA-256 of its
//   id, bound to the SHA-256 of the browser's secret (cookie) or the token client's deviceKey,
//   with an attempt counter that concurrent guesses cannot outrun (SECOND_FACTOR_ATTEMPTS);
// - per user, the last TOTP time step accepted, so a code is accepted once (replay);
// - per session, the step that just re-authenticated it, which that session may give once more
//   for the action it re-authenticated for (REAUTH_CODE_REUSE_MS).

/** What a challenge carries from the password step to the second factor. */
export interface ChallengeState {
  userId: string;
  /** The session epoch read when the password was checked: a lockout meanwhile ends the sign-in. */
  epoch: number;
  method: "password" | "token";
  deviceName: string;
}

export type ChallengeAttempt =
  { outcome: "ok"; attempt: number; state: ChallengeState } | { outcome: "gone" } | { outcome: "foreign" } | { outcome: "exhausted" };

// KEYS: challenge. ARGV: binding hash, max attempts, now (ms).
// Expiry is also checked against the app's clock (Redis expires the key at the same time).
const ATTEMPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return { 'gone' } end
if tonumber(ARGV[3]) >= tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) then
  redis.call('DEL', KEYS[1])
  return { 'gone' }
end
if redis.call('HGET', KEYS[1], 'binding') ~= ARGV[1] then return { 'foreign' } end
local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if n > tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return { 'exhausted' }
end
local f = redis.call('HMGET', KEYS[1], 'userId', 'epoch', 'method', 'deviceName')
return { 'ok', tostring(n), f[1], f[2], f[3], f[4] }
`;

// KEYS: challenge. ARGV: binding hash. Deletes it for its own browser only: 1 when this call did.
const CONSUME = `
if redis.call('HGET', KEYS[1], 'binding') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

// KEYS: last accepted step. ARGV: step, keep ms. 1 when the step is later than every accepted one.
const USE_STEP = `
local last = tonumber(redis.call('GET', KEYS[1]))
if last and tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

// KEYS: the session's re-authentication step. ARGV: step. 1 (and gone) when it was that step.
const TAKE_REAUTH_STEP = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

export class TwoFactorStore {
  private readonly attemptScript;
  private readonly consumeScript;
  private readonly useStepScript;
  private readonly takeReauthStepScript;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** The clock codes are checked against (tests inject theirs). */
    readonly now: () => number = Date.now,
  ) {
    this.attemptScript = redis.createScript<unknown[]>(ATTEMPT);
    this.consumeScript = redis.createScript<number>(CONSUME);
    this.useStepScript = redis.createScript<number>(USE_STEP);
    this.takeReauthStepScript = redis.createScript<number>(TAKE_REAUTH_STEP);
  }

  // Key names: platform/redis/keys.ts (a user's in the user's slot, a session's in the session's).
  private setupKey = (userId: string) => userSlotKey(this.prefix, userId, `twofactor:setup:${userId}`);
  private challengeKey = (challengeId: string) => braced(this.prefix, "twofactor:challenge", sha256(challengeId));
  private stepKey = (userId: string) => userSlotKey(this.prefix, userId, `twofactor:step:${userId}`);
  private reauthStepKey = (sessionId: string) => sessionSideKey(this.prefix, sessionId, "twofactor:reauth-step");

  /** Keeps the (sealed) secret twoFactor.setup showed until it is confirmed; a newer setup replaces it. */
  async putPendingSecret(userId: string, sealedSecret: string): Promise<Date> {
    await this.redis.set(this.setupKey(userId), sealedSecret, { px: TWO_FACTOR_SETUP_TTL_MS });
    return new Date(this.now() + TWO_FACTOR_SETUP_TTL_MS);
  }

  async pendingSecret(userId: string): Promise<string | null> {
    const value = await this.redis.get<unknown>(this.setupKey(userId));
    return typeof value === "string" ? value : null;
  }

  async dropPendingSecret(userId: string): Promise<void> {
    await this.redis.del(this.setupKey(userId));
  }

  /** A new challenge: its id (for the client), and the secret that binds it to the browser (its cookie). */
  async createChallenge(state: ChallengeState, binding: string): Promise<{ challengeId: string; expiresAt: Date }> {
    const challengeId = randomToken(24);
    const key = this.challengeKey(challengeId);
    const expiresAt = new Date(this.now() + SECOND_FACTOR_CHALLENGE_TTL_MS);
    await this.redis
      .multi()
      .hset(key, {
        userId: state.userId,
        epoch: String(state.epoch),
        method: state.method,
        deviceName: state.deviceName,
        binding: sha256(binding),
        attempts: "0",
        expiresAt: String(expiresAt.getTime()),
      })
      .pexpire(key, SECOND_FACTOR_CHALLENGE_TTL_MS)
      .exec();
    return { challengeId, expiresAt };
  }

  /** Counts one code attempt on the challenge, before the code is checked (the last allowed one leaves it dead once it fails). */
  async attempt(challengeId: string, binding: string): Promise<ChallengeAttempt> {
    const reply = (await this.attemptScript.exec(
      [this.challengeKey(challengeId)],
      [sha256(binding), String(SECOND_FACTOR_ATTEMPTS), String(this.now())],
    )) as unknown[];
    const outcome = String(reply[0]);
    if (outcome === "gone" || outcome === "foreign" || outcome === "exhausted") return { outcome };
    const [, attempt, userId, epoch, method, deviceName] = reply;
    return {
      outcome: "ok",
      attempt: Number(attempt),
      state: {
        userId: String(userId),
        epoch: Number(epoch),
        method: method === "token" ? "token" : "password",
        deviceName: deviceName == null ? "" : String(deviceName),
      },
    };
  }

  /** The challenge is over (answered, or out of attempts): true for the one caller that ended it. */
  async consume(challengeId: string, binding: string): Promise<boolean> {
    return Number(await this.consumeScript.exec([this.challengeKey(challengeId)], [sha256(binding)])) === 1;
  }

  /** Accepts a TOTP time step for the user once: false when it (or a later one) was already used. */
  async useTimeStep(userId: string, step: number): Promise<boolean> {
    return Number(await this.useStepScript.exec([this.stepKey(userId)], [String(step), String(TOTP_USED_STEP_KEPT_MS)])) === 1;
  }

  /** The session re-authenticated with this TOTP step (already accepted for the user). */
  async rememberReauthStep(sessionId: string, step: number): Promise<void> {
    await this.redis.set(this.reauthStepKey(sessionId), String(step), { px: REAUTH_CODE_REUSE_MS });
  }

  /** Whether the session re-authenticated with this step, and so may use it once more (then forgotten). */
  async takeReauthStep(sessionId: string, step: number): Promise<boolean> {
    return Number(await this.takeReauthStepScript.exec([this.reauthStepKey(sessionId)], [String(step)])) === 1;
  }
}
