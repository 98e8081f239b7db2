import type { Redis } from "@upstash/redis";
import { LUA_HELPERS } from "~/server/platform/redis/lua";
import { randomToken, sha256, splitToken } from "~/server/platform/crypto";
import { REFRESH_REUSE_HISTORY, type SessionCap } from "~/server/policy";

// A session lives in Redis as a hash under <prefix>session:<id>, with only the SHA-256 of its
// secret; the user's sessions are indexed in a sorted set <prefix>user:<userId>:sessions (score =
// creation time). The key expires at min(last use + idle timeout, absolute expiry), so Redis drops
// dead sessions by itself; index entries whose key is gone are pruned whenever the index is read
// or written. Every check-and-write below is one Lua script: atomic, and one round trip.

const SESSION_METHODS = ["password", "qr", "approval", "token", "passkey"] as const;
type SessionMethod = (typeof SESSION_METHODS)[number];

export interface SessionPolicy {
  idleTimeoutMs: number;
  absoluteLifetimeMs: number;
  /**
   * Bearer-token sessions (method "token") end after this long without an access-token use or a
   * refresh: the refresh token's lifetime.
   */
  tokenIdleTimeoutMs: number;
}

const idleFor = (policy: SessionPolicy, method: SessionMethod) => (method === "token" ? policy.tokenIdleTimeoutMs : policy.idleTimeoutMs);

export interface Session {
  id: string;
  userId: string;
  email: string;
  deviceId: string;
  ip: string;
  method: SessionMethod;
  createdAt: Date;
  lastSeenAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  /**
   * Whether the account's address is verified, as of the session's opening or the last change
   * (setUserAccount); null for a session opened before sessions kept it (look it up).
   */
  emailVerified: boolean | null;
}

export type NewSession = Pick<Session, "userId" | "email" | "deviceId" | "ip" | "method"> & { emailVerified: boolean };

export const sessionKey = (prefix: string, sessionId: string) => `${prefix}session:${sessionId}`;
export const userSessionsKey = (prefix: string, userId: string) => `${prefix}user:${userId}:sessions`;
/** Hashes of a token session's rotated refresh tokens (newest first, the last REFRESH_REUSE_HISTORY), for reuse detection. */
const rotatedRefreshKey = (prefix: string, sessionId: string) => `${prefix}refresh-rotated:${sessionId}`;
/** Present while a session's password entry is recent enough for sensitive actions (REAUTH_MINUTES). */
export const recentAuthKey = (prefix: string, sessionId: string) => `${prefix}reauth:${sessionId}`;
/**
 * The user's session epoch: bumped whenever every (other) session is ended at once (lockout,
 * "sign out other sessions", a password change that signs out). A password sign-in reads it
 * right after its password check, then reads the password hash again (auth/sign-in.ts,
 * epochBehindPassword), and creates its session only if the epoch is unchanged: a sign-in whose
 * password was checked before such an event cannot land after it.
 */
export const userEpochKey = (prefix: string, userId: string) => `${prefix}user:${userId}:epoch`;
/** A single revoked access token, kept until the token's own expiry. */
const deniedAccessTokenKey = (prefix: string, jti: string) => `${prefix}jti-denied:${jti}`;

// Fields in the order the scripts return them.
// The user agent is not kept here (the device record has it): every value stays under Redis's
// 64-byte listpack limit, so a session hash stays in the compact encoding.
// toSession reads these by position.
const FIELDS = ["userId", "email", "deviceId", "ip", "method", "createdAt", "lastSeenAt", "absoluteExpiresAt", "emailVerified"] as const;

const LUA_PRELUDE = `${LUA_HELPERS}
local function prune(index, prefix)
  local ids = redis.call('ZRANGE', index, 0, -1)
  for _, sid in ipairs(ids) do
    if redis.call('EXISTS', prefix .. 'session:' .. sid) == 0 then redis.call('ZREM', index, sid) end
  end
end
`;

// KEYS: session, user index, user epoch. ARGV: now, idle ms, absolute expiry, prefix, limit
// (0 = none), policy, secret hash, parent session id ('' = none), expected epoch ('' = any), then
// FIELDS values. Returns { 1, live sessions, evicted id, its device id, ... }, { 0, live sessions }
// (cap, reject), { -1 } (the parent session has ended) or { -2 } (the epoch moved on).
// Checking the parent and the epoch, counting, evicting and creating happen in one script, so
// concurrent sign-ins cannot overshoot the cap, and a session created from a session (or after a
// password check) cannot outlive a lockout that ran while its request was in flight.
const CREATE_SESSION = `${LUA_PRELUDE}
local key, index = KEYS[1], KEYS[2]
local now, idle, absolute, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local limit, policy = tonumber(ARGV[5]), ARGV[6]
local parent, epoch, userId = ARGV[8], ARGV[9], ARGV[10]
if parent ~= '' and str(redis.call('HGET', prefix .. 'session:' .. parent, 'userId')) ~= userId then return { -1 } end
if epoch ~= '' and (tonumber(redis.call('GET', KEYS[3])) or 0) ~= tonumber(epoch) then return { -2 } end
prune(index, prefix)
local count = redis.call('ZCARD', index)
local evicted = {}
if limit > 0 and count >= limit then
  if policy == 'reject' then return { 0, count } end
  local entries = {}
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local last = tonumber(str(redis.call('HGET', prefix .. 'session:' .. sid, 'lastSeenAt'))) or 0
    entries[#entries + 1] = { sid, last }
  end
  table.sort(entries, function(a, b) return a[2] < b[2] end)
  local i = 1
  while count >= limit and entries[i] do
    local sid = entries[i][1]
    local device = str(redis.call('HGET', prefix .. 'session:' .. sid, 'deviceId')) or ''
    redis.call('DEL', prefix .. 'session:' .. sid)
    redis.call('ZREM', index, sid)
    evicted[#evicted + 1] = sid
    evicted[#evicted + 1] = device
    count = count - 1
    i = i + 1
  end
end
local hash = { 'secretHash', ARGV[7] }
local names = { ${FIELDS.map((f) => `'${f}'`).join(", ")} }
for i, name in ipairs(names) do
  hash[#hash + 1] = name
  hash[#hash + 1] = ARGV[9 + i]
end
redis.call('HSET', key, unpack(hash))
redis.call('PEXPIREAT', key, math.min(now + idle, absolute))
redis.call('ZADD', index, now, string.sub(key, #prefix + 9))
local ttl = redis.call('PTTL', index)
if ttl < absolute - now then redis.call('PEXPIRE', index, absolute - now) end
table.insert(evicted, 1, count + 1)
table.insert(evicted, 1, 1)
return reply(evicted)
`;

// Positions in HMGET's answer below (secretHash first, then FIELDS), 1-based as in Lua.
const LAST_SEEN = FIELDS.indexOf("lastSeenAt") + 2;
const ABSOLUTE = FIELDS.indexOf("absoluteExpiresAt") + 2;
const METHOD = FIELDS.indexOf("method") + 2;

// Shared by the scripts that read one session and use it: `readSession(key)` is HMGET of
// secretHash then FIELDS; `endIfExpired` deletes a session past its idle or absolute expiry
// (and its index entry) and says so; `slide` records a use and moves the key's expiry.
const LUA_SESSION = `${LUA_HELPERS}
local function readSession(key)
  return redis.call('HMGET', key, 'secretHash', ${FIELDS.map((f) => `'${f}'`).join(", ")})
end
local function endIfExpired(key, values, now, idle, prefix)
  local lastSeen, absolute = tonumber(values[${LAST_SEEN}]), tonumber(values[${ABSOLUTE}])
  if now < absolute and now < lastSeen + idle then return false end
  redis.call('DEL', key)
  redis.call('ZREM', prefix .. 'user:' .. values[2] .. ':sessions', string.sub(key, #prefix + 9))
  return true
end
local function slide(key, values, nowText, idle)
  redis.call('HSET', key, 'lastSeenAt', nowText)
  redis.call('PEXPIREAT', key, math.min(tonumber(nowText) + idle, tonumber(values[${ABSOLUTE}])))
  values[${LAST_SEEN}] = nowText
end
`;

// KEYS: session. ARGV: now, idle ms, secret hash, prefix. Returns FIELDS values, or nil.
// A token session's secret is its refresh token, which must never work as a cookie session.
const VALIDATE_SESSION = `${LUA_SESSION}
local key, now, idle, prefix = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[4]
local values = readSession(key)
if str(values[1]) ~= ARGV[3] or str(values[${METHOD}]) == 'token' then return nil end
if endIfExpired(key, values, now, idle, prefix) then return nil end
slide(key, values, ARGV[1], idle)
table.remove(values, 1)
return reply(values)
`;

// KEYS: session, denied-jti key. ARGV: now, idle ms, prefix. An access token's session check:
// the session must exist and be a token session, and this one token must not be revoked.
// Returns FIELDS values, or nil. Slides the idle timeout like a cookie session's use.
const VALIDATE_TOKEN_SESSION = `${LUA_SESSION}
local key, now, idle, prefix = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
if redis.call('EXISTS', KEYS[2]) == 1 then return nil end
local values = readSession(key)
if not str(values[1]) or str(values[${METHOD}]) ~= 'token' then return nil end
if endIfExpired(key, values, now, idle, prefix) then return nil end
slide(key, values, ARGV[1], idle)
table.remove(values, 1)
return reply(values)
`;

// KEYS: session, rotated list. ARGV: now, idle ms, prefix, presented hash, new hash.
// The presented refresh token is the current one: it is replaced, and remembered as rotated.
// It is a rotated one: theft (or a client replaying), so the whole session ends at once.
// Returns { 'ok', FIELDS values... } | { 'reused', userId } | { 'invalid' }.
const ROTATE_REFRESH = `${LUA_SESSION}
local key, rotated = KEYS[1], KEYS[2]
local now, idle, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local values = readSession(key)
local current = str(values[1])
if not current or str(values[${METHOD}]) ~= 'token' or endIfExpired(key, values, now, idle, prefix) then return reply({ 'invalid' }) end
if current == ARGV[4] then
  redis.call('HSET', key, 'secretHash', ARGV[5])
  slide(key, values, ARGV[1], idle)
  redis.call('LPUSH', rotated, ARGV[4])
  redis.call('LTRIM', rotated, 0, ${REFRESH_REUSE_HISTORY - 1})
  redis.call('PEXPIREAT', rotated, tonumber(values[${ABSOLUTE}]))
  values[1] = 'ok'
  return reply(values)
end
for _, old in ipairs(redis.call('LRANGE', rotated, 0, -1)) do
  if old == ARGV[4] then
    redis.call('DEL', key, rotated)
    redis.call('ZREM', prefix .. 'user:' .. values[2] .. ':sessions', string.sub(key, #prefix + 9))
    return reply({ 'reused', values[2] })
  end
end
return reply({ 'invalid' })
`;

// KEYS: session. ARGV: prefix, expected user id ('' = any). Returns 1 when a session was deleted.
const DELETE_SESSION = `${LUA_HELPERS}
local key = KEYS[1]
local userId = str(redis.call('HGET', key, 'userId'))
if not userId or (ARGV[2] ~= '' and userId ~= ARGV[2]) then return 0 end
redis.call('DEL', key)
redis.call('ZREM', ARGV[1] .. 'user:' .. userId .. ':sessions', string.sub(key, #ARGV[1] + 9))
return 1
`;

// KEYS: user index. ARGV: prefix. Returns { id, FIELDS values..., id, ... } of live sessions.
const LIST_SESSIONS = `${LUA_PRELUDE}
local index, prefix = KEYS[1], ARGV[1]
prune(index, prefix)
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local values = redis.call('HMGET', prefix .. 'session:' .. sid, ${FIELDS.map((f) => `'${f}'`).join(", ")})
  out[#out + 1] = sid
  for i = 1, ${FIELDS.length} do out[#out + 1] = str(values[i]) or '' end
end
return reply(out)
`;

// KEYS: user index, user epoch. ARGV: prefix, session id to keep ('' = none), device id ('' = any),
// epoch ttl ms ('' = leave the epoch). Returns the ids of the sessions it ended.
// KEYS: user index. ARGV: prefix, new address. Sessions keep the address they were opened with
// (security mail goes to it): a change of address rewrites it in every live one. Returns how many.
const SET_USER_ACCOUNT = `${LUA_HELPERS}
local n = 0
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. 'session:' .. sid
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'email', ARGV[2], 'emailVerified', ARGV[3])
    n = n + 1
  end
end
return n
`;

const DELETE_SESSIONS = `${LUA_PRELUDE}
local index, prefix, keep, device = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if ARGV[4] ~= '' then
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
end
prune(index, prefix)
local ended = {}
for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local key = prefix .. 'session:' .. sid
  if sid ~= keep and (device == '' or str(redis.call('HGET', key, 'deviceId')) == device) then
    redis.call('DEL', key)
    redis.call('ZREM', index, sid)
    ended[#ended + 1] = sid
  end
end
return reply(ended)
`;

const isSessionMethod = (value: string): value is SessionMethod => (SESSION_METHODS as readonly string[]).includes(value);

/** A stored timestamp: Redis hands back strings, @upstash/redis sometimes numbers. */
function storedTime(value: unknown): number {
  const time = typeof value === "number" ? value : Number(value);
  if (value === null || value === undefined || value === "" || !Number.isFinite(time)) throw new Error("A stored session has a malformed timestamp");
  return time;
}

// Runs for every session read (each request, 50 times in a 50-session list), so the checks are
// written out rather than a schema parse, which cost ~8 µs a session.
function toSession(id: string, values: unknown[], policy: SessionPolicy): Session {
  const text = (i: number) => String(values[i] ?? "");
  const method = text(4);
  if (!isSessionMethod(method)) throw new Error("A stored session has an unknown sign-in method");
  const createdAt = storedTime(values[5]);
  const lastSeenAt = storedTime(values[6]);
  const absoluteExpiresAt = storedTime(values[7]);
  const idle = idleFor(policy, method);
  return {
    id,
    userId: text(0),
    email: text(1),
    deviceId: text(2),
    ip: text(3),
    method,
    createdAt: new Date(createdAt),
    lastSeenAt: new Date(lastSeenAt),
    idleExpiresAt: new Date(Math.min(lastSeenAt + idle, absoluteExpiresAt)),
    absoluteExpiresAt: new Date(absoluteExpiresAt),
    emailVerified: text(8) === "1" ? true : text(8) === "0" ? false : null,
  };
}

export type { SessionCap } from "~/server/policy";

/** The user already has as many sessions as the cap allows (policy "reject"). */
export class SessionLimitError extends Error {
  constructor(
    readonly active: number,
    readonly limit: number,
  ) {
    super(`Already ${active} sessions active (the limit is ${limit}). Sign out on another device first.`);
    this.name = "SessionLimitError";
  }
}

/** The session a new one was created from (its parent) has ended: nothing vouches for it any more. */
export class ParentSessionEndedError extends Error {
  constructor() {
    super("The session that allowed this sign-in has ended.");
    this.name = "ParentSessionEndedError";
  }
}

/** Every session of the user was ended (lockout, ...) while this sign-in was being checked. */
export class SessionEpochChangedError extends Error {
  constructor() {
    super("All sessions of this account were just ended.");
    this.name = "SessionEpochChangedError";
  }
}

/**
 * An epoch outlives every sign-in in flight by far; after it expires it reads as 0, which a
 * sign-in that read a higher value before takes as a change (the safe direction).
 */
const EPOCH_TTL_MS = 86_400_000;

export interface CreateConditions {
  /** The session this one is created from: refused unless it still exists, for the same user. */
  parentSessionId?: string;
  /** The epoch read before the password was checked (currentEpoch): refused if it moved on. */
  epoch?: number;
}

export class SessionStore {
  private readonly create;
  private readonly validate;
  private readonly remove;
  private readonly list;
  private readonly removeMany;
  private readonly validateToken;
  private readonly rotate;
  private readonly setAccount;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly policy: SessionPolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.create = redis.createScript<number>(CREATE_SESSION);
    this.validate = redis.createScript<unknown[] | null>(VALIDATE_SESSION);
    this.remove = redis.createScript<number>(DELETE_SESSION);
    this.list = redis.createScript<unknown[]>(LIST_SESSIONS);
    this.removeMany = redis.createScript<unknown[]>(DELETE_SESSIONS);
    this.validateToken = redis.createScript<unknown[] | null>(VALIDATE_TOKEN_SESSION);
    this.rotate = redis.createScript<unknown[]>(ROTATE_REFRESH);
    this.setAccount = redis.createScript<number>(SET_USER_ACCOUNT);
  }

  /**
   * Always a brand-new id and secret (no fixation). Returns the token for the cookie (shown once,
   * never stored) and the ids of sessions evicted to respect the cap.
   */
  async createSession(
    input: NewSession,
    cap: SessionCap,
    conditions: CreateConditions = {},
  ): Promise<{ token: string; session: Session; evicted: string[]; evictedDevices: string[] }> {
    const id = randomToken(16);
    const secret = randomToken(32);
    const now = this.now();
    const absolute = now + this.policy.absoluteLifetimeMs;
    const values: Record<(typeof FIELDS)[number], string> = {
      userId: input.userId,
      email: input.email,
      deviceId: input.deviceId,
      ip: input.ip,
      method: input.method,
      createdAt: String(now),
      lastSeenAt: String(now),
      absoluteExpiresAt: String(absolute),
      emailVerified: input.emailVerified ? "1" : "0",
    };
    const [created, active, ...evicted] = (await this.create.exec(
      [sessionKey(this.prefix, id), userSessionsKey(this.prefix, input.userId), userEpochKey(this.prefix, input.userId)],
      [
        String(now),
        String(idleFor(this.policy, input.method)),
        String(absolute),
        this.prefix,
        String(cap.limit),
        cap.policy,
        sha256(secret),
        conditions.parentSessionId ?? "",
        conditions.epoch === undefined ? "" : String(conditions.epoch),
        ...FIELDS.map((f) => values[f]),
      ],
    )) as unknown as [unknown, unknown, ...unknown[]];
    if (Number(created) === -1) throw new ParentSessionEndedError();
    if (Number(created) === -2) throw new SessionEpochChangedError();
    if (Number(created) !== 1) throw new SessionLimitError(Number(active), cap.limit);
    return {
      token: `${id}.${secret}`,
      session: toSession(
        id,
        FIELDS.map((f) => values[f]),
        this.policy,
      ),
      evicted: evicted.filter((_, i) => i % 2 === 0).map(String),
      evictedDevices: evicted.filter((_, i) => i % 2 === 1).map(String),
    };
  }

  /** Checks the token against Redis and slides the idle timeout, in one round trip. */
  async validateSessionToken(token: string): Promise<Session | null> {
    const parts = splitToken(token);
    if (!parts) return null;
    const values = await this.validate.exec(
      [sessionKey(this.prefix, parts.id)],
      [String(this.now()), String(this.policy.idleTimeoutMs), sha256(parts.secret), this.prefix],
    );
    return Array.isArray(values) ? toSession(parts.id, values, this.policy) : null;
  }

  /**
   * An access token's session check, in one round trip: the token session is live and the token
   * (by its jti) was not revoked on its own. Slides the session's idle timeout.
   */
  async validateTokenSession(sessionId: string, jti: string): Promise<Session | null> {
    const values = await this.validateToken.exec(
      [sessionKey(this.prefix, sessionId), deniedAccessTokenKey(this.prefix, jti)],
      [String(this.now()), String(idleFor(this.policy, "token")), this.prefix],
    );
    return Array.isArray(values) ? toSession(sessionId, values, this.policy) : null;
  }

  /**
   * Rotates a token session's refresh token ("<session id>.<secret>", the token createSession
   * returned for a method "token" session). The old token stops working at once; presenting a
   * rotated one again ends the session ("reused").
   */
  async rotateRefreshToken(
    refreshToken: string,
  ): Promise<{ outcome: "ok"; token: string; session: Session } | { outcome: "reused"; sessionId: string; userId: string } | { outcome: "invalid" }> {
    const parts = splitToken(refreshToken);
    if (!parts) return { outcome: "invalid" };
    const secret = randomToken(32);
    const [outcome, ...values] = (await this.rotate.exec(
      [sessionKey(this.prefix, parts.id), rotatedRefreshKey(this.prefix, parts.id)],
      [String(this.now()), String(idleFor(this.policy, "token")), this.prefix, sha256(parts.secret), sha256(secret)],
    )) as unknown as [unknown, ...unknown[]];
    if (outcome === "ok") return { outcome, token: `${parts.id}.${secret}`, session: toSession(parts.id, values, this.policy) };
    if (outcome === "reused") return { outcome, sessionId: parts.id, userId: String(values[0]) };
    return { outcome: "invalid" };
  }

  /** The password was just entered in this session: sensitive actions are allowed for `forMs` (the re-auth window). */
  async markAuthenticated(sessionId: string, forMs: number): Promise<void> {
    await this.redis.set(recentAuthKey(this.prefix, sessionId), String(this.now()), { px: forMs });
  }

  /** True when the password was entered in this session less than `withinMs` ago (by this store's clock). */
  async recentlyAuthenticated(sessionId: string, withinMs: number): Promise<boolean> {
    const at = Number(await this.redis.get(recentAuthKey(this.prefix, sessionId)));
    return Number.isFinite(at) && at > 0 && this.now() - at < withinMs;
  }

  /** Revokes one access token until its own expiry (its session stays). */
  async denyAccessToken(jti: string, expiresAtMs: number): Promise<void> {
    const ttl = expiresAtMs - this.now();
    if (ttl > 0) await this.redis.set(deniedAccessTokenKey(this.prefix, jti), "1", { px: ttl });
  }

  /** Ends a session at once. With userId, only if it belongs to that user. */
  async deleteSession(sessionId: string, userId?: string): Promise<boolean> {
    const deleted = await this.remove.exec([sessionKey(this.prefix, sessionId)], [this.prefix, userId ?? ""]);
    return Number(deleted) === 1;
  }

  /** The user's live sessions, most recently used first. Expired ones are pruned on the way. */
  async listUserSessions(userId: string): Promise<Session[]> {
    const flat = await this.list.exec([userSessionsKey(this.prefix, userId)], [this.prefix]);
    const sessions: Session[] = [];
    const width = FIELDS.length + 1;
    for (let i = 0; i + width <= flat.length; i += width) {
      const values = flat.slice(i + 1, i + width);
      // A key that expired between the prune and the read comes back empty: skip it.
      if (String(values[0] ?? "") === "") continue;
      sessions.push(toSession(String(flat[i]), values, this.policy));
    }
    return sessions.sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime());
  }

  /**
   * Ends the user's sessions (all, all but one, or those of one device); returns the ended ids.
   * `newEpoch`: in the same step, refuse every sign-in already in flight (see userEpochKey).
   */
  async deleteUserSessions(userId: string, options: { except?: string; deviceId?: string; newEpoch?: boolean } = {}): Promise<string[]> {
    const ended = await this.removeMany.exec(
      [userSessionsKey(this.prefix, userId), userEpochKey(this.prefix, userId)],
      [this.prefix, options.except ?? "", options.deviceId ?? "", options.newEpoch ? String(EPOCH_TTL_MS) : ""],
    );
    return ended.map(String);
  }

  /** Whether the session still exists (not ended, not expired). */
  async isLive(sessionId: string): Promise<boolean> {
    return Number(await this.redis.exists(sessionKey(this.prefix, sessionId))) === 1;
  }

  /** After a change of address or its verification: every live session of the user carries it (auth.me answers from the session). */
  async setUserAccount(userId: string, account: { email: string; emailVerified: boolean }): Promise<number> {
    return Number(await this.setAccount.exec([userSessionsKey(this.prefix, userId)], [this.prefix, account.email, account.emailVerified ? "1" : "0"]));
  }

  /** The user's session epoch, read before a password check (CreateConditions.epoch). */
  async currentEpoch(userId: string): Promise<number> {
    return Number(await this.redis.get(userEpochKey(this.prefix, userId))) || 0;
  }
}
