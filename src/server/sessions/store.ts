import type { Redis } from "@upstash/redis";
import { LUA_HELPERS } from "~/server/platform/redis/lua";
import { redisUnavailable } from "~/server/platform/redis/errors";
import { isUsersId, sessionKey, sessionSideKey, taggedId, userKey, userTag } from "~/server/platform/redis/keys";
import { commonSlot } from "~/server/platform/redis/slots";
import { randomToken, sha256, splitToken } from "~/server/platform/crypto";
import { BoundedCache } from "~/server/platform/bounded-cache";
import { REFRESH_REUSE_HISTORY, SESSION_INDEX_READ_ATTEMPTS, type SessionCap } from "~/server/policy";

// A session lives in Redis as a hash under <prefix>{<tag>}session:<id>, with only the SHA-256 of
// its secret; the user's sessions are indexed in a sorted set <prefix>{<tag>}user:<userId>:sessions
// (score = creation time). The tag is the user's hash tag, and the session id starts with it
// (platform/redis/keys.ts), so all of a user's session keys share one Redis Cluster slot. The key expires at min(last use + idle timeout, absolute expiry), so Redis drops
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

/** A session as listUserSessions reads it: what the lists show, without the account's fields (the caller knows the user). */
export type ListedSession = Pick<Session, "id" | "deviceId" | "ip" | "method" | "createdAt" | "lastSeenAt" | "idleExpiresAt" | "absoluteExpiresAt">;

export { sessionKey };
export const userSessionsKey = (prefix: string, userId: string) => userKey(prefix, userId, "sessions");
/** Hashes of a token session's rotated refresh tokens (newest first, the last REFRESH_REUSE_HISTORY), for reuse detection. */
export const rotatedRefreshKey = (prefix: string, sessionId: string) => sessionSideKey(prefix, sessionId, "refresh-rotated");
/** Present while a session's password entry is recent enough for sensitive actions (REAUTH_MINUTES). */
export const recentAuthKey = (prefix: string, sessionId: string) => sessionSideKey(prefix, sessionId, "reauth");
/**
 * The user's session epoch: bumped whenever every (other) session is ended at once (lockout,
 * "sign out other sessions", a password change that signs out). A password sign-in reads it
 * right after its password check, then checks the password hash again (auth/sign-in.ts: in the
 * statement that records its device), and creates its session only if the epoch is unchanged: a
 * sign-in whose password was checked before such an event cannot land after it.
 */
export const userEpochKey = (prefix: string, userId: string) => userKey(prefix, userId, "epoch");
/** A single revoked access token of a session, kept until the token's own expiry (in the session's slot). */
export const deniedAccessTokenKey = (prefix: string, sessionId: string, jti: string) => `${sessionSideKey(prefix, sessionId, "jti-denied")}:${jti}`;

// Fields in the order the scripts return them.
// The user agent is not kept here (the device record has it): every value stays under Redis's
// 64-byte listpack limit, so a session hash stays in the compact encoding.
// toSession reads these by position.
const FIELDS = ["userId", "email", "deviceId", "ip", "method", "createdAt", "lastSeenAt", "absoluteExpiresAt", "emailVerified"] as const;

// Scripts that go through the user's index are given, in KEYS, the session keys of the ids the
// index held when it was read just before (ARGV: their count, then the ids, in the same order):
// Redis Cluster only runs a script whose every key is declared. `known(argAt, keyAt)` maps each
// such id to its key. An id found in the index but not given (a session created in between) is
// "unknown": a script that must act on it answers { 'stale', current ids... } having changed
// nothing, and is sent again with those (SESSION_INDEX_READ_ATTEMPTS).
// `prune(index, keyOf)` drops known ids whose session is gone and returns the unknown ones.
const LUA_INDEX = `${LUA_HELPERS}
local function known(argAt, keyAt)
  local keyOf = {}
  for i = 1, tonumber(ARGV[argAt]) do keyOf[ARGV[argAt + i]] = KEYS[keyAt + i - 1] end
  return keyOf
end
local function prune(index, keyOf)
  local unknown = {}
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local key = keyOf[sid]
    if not key then unknown[#unknown + 1] = sid
    elseif redis.call('EXISTS', key) == 0 then redis.call('ZREM', index, sid) end
  end
  return unknown
end
local function unknownIn(index, keyOf)
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if not keyOf[sid] then return true end
  end
  return false
end
local function stale(index)
  local out = redis.call('ZRANGE', index, 0, -1)
  table.insert(out, 1, 'stale')
  return reply(out)
end
`;

// KEYS: session, user index, user epoch, [parent session,] then the known sessions' keys, then the
// keys to set once the session exists (same slot). ARGV: now, idle ms, absolute expiry, limit
// (0 = none), policy, secret hash, '1' when a parent session is given, expected epoch ('' = any),
// session id, FIELDS values (10..18), '1' when the known ids are a hint (not read just before),
// then the known ids (count, ids), then the keys to set (count, then value and PX ms for each). Returns { 1, live sessions, evicted id, its device id, ... }, { 0, live
// sessions } (cap, reject), { -1 } (the parent session has ended), { -2 } (the epoch moved on) or
// { 'stale', ids... } (the cap needs sessions it was not given). On success the reply goes on with
// the number of evicted values, the evicted id/device pairs, then the index's ids after the change.
// Checking the parent and the epoch, counting, evicting and creating happen in one script, so
// concurrent sign-ins cannot overshoot the cap, and a session created from a session (or after a
// password check) cannot outlive a lockout that ran while its request was in flight. Sessions
// created since the index was read count as live; they are the most recently used, so eviction
// only needs them when every known one is gone already (then the script asks again).
const HINTED_AT = 10 + FIELDS.length;
const KNOWN_AT = HINTED_AT + 1;
const CREATE_SESSION = `${LUA_INDEX}
local key, index, epochKey = KEYS[1], KEYS[2], KEYS[3]
local now, idle, absolute = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local limit, policy = tonumber(ARGV[4]), ARGV[5]
local epoch, sid, userId = ARGV[8], ARGV[9], ARGV[10]
local keyAt = 4
if ARGV[7] == '1' then
  if str(redis.call('HGET', KEYS[4], 'userId')) ~= userId then return { -1 } end
  keyAt = 5
end
if epoch ~= '' and (tonumber(redis.call('GET', epochKey)) or 0) ~= tonumber(epoch) then return { -2 } end
local keyOf = known(${KNOWN_AT}, keyAt)
local unknown = prune(index, keyOf)
local count = redis.call('ZCARD', index)
local evicted = {}
if limit > 0 and count >= limit then
  if policy == 'reject' then
    if #unknown > 0 then return stale(index) end
    return { 0, count }
  end
  local entries = {}
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if keyOf[id] then
      local last = tonumber(str(redis.call('HGET', keyOf[id], 'lastSeenAt'))) or 0
      entries[#entries + 1] = { id, last }
    end
  end
  -- Evicting the least recently used needs every session's last use. Ids read just before miss
  -- only sessions created since (the most recently used: they count, and are never the oldest);
  -- ids this process remembered may miss older ones another instance created.
  if (ARGV[${HINTED_AT}] == '1' and #unknown > 0) or count - #entries >= limit then return stale(index) end
  table.sort(entries, function(a, b) return a[2] < b[2] end)
  local i = 1
  while count >= limit and entries[i] do
    local id = entries[i][1]
    local device = str(redis.call('HGET', keyOf[id], 'deviceId')) or ''
    redis.call('DEL', keyOf[id])
    redis.call('ZREM', index, id)
    evicted[#evicted + 1] = id
    evicted[#evicted + 1] = device
    count = count - 1
    i = i + 1
  end
end
local hash = { 'secretHash', ARGV[6] }
local names = { ${FIELDS.map((f) => `'${f}'`).join(", ")} }
for i, name in ipairs(names) do
  hash[#hash + 1] = name
  hash[#hash + 1] = ARGV[9 + i]
end
redis.call('HSET', key, unpack(hash))
redis.call('PEXPIREAT', key, math.min(now + idle, absolute))
redis.call('ZADD', index, now, sid)
local ttl = redis.call('PTTL', index)
if ttl < absolute - now then redis.call('PEXPIRE', index, absolute - now) end
local knownCount = tonumber(ARGV[${KNOWN_AT}])
local setAt, setKeyAt = ${KNOWN_AT} + knownCount + 1, keyAt + knownCount
for i = 1, tonumber(ARGV[setAt] or '0') do
  redis.call('SET', KEYS[setKeyAt + i - 1], ARGV[setAt + 2 * i - 1], 'PX', ARGV[setAt + 2 * i])
end
local out = { 1, count + 1, #evicted }
for _, v in ipairs(evicted) do out[#out + 1] = v end
for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do out[#out + 1] = id end
return reply(out)
`;

// KEYS: user epoch. ARGV: its ttl ms.
const MOVE_EPOCH = `
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
`;

// Positions in HMGET's answer below (secretHash first, then FIELDS), 1-based as in Lua.
const LAST_SEEN = FIELDS.indexOf("lastSeenAt") + 2;
const ABSOLUTE = FIELDS.indexOf("absoluteExpiresAt") + 2;
const METHOD = FIELDS.indexOf("method") + 2;

// Shared by the scripts that read one session and use it: `readSession(key)` is HMGET of
// secretHash then FIELDS; `endIfExpired` deletes a session past its idle or absolute expiry and
// says so (its index entry is left to the caller: the index is in KEYS of no such script, and
// every index read prunes it anyway); `slide` records a use and moves the key's expiry.
const LUA_SESSION = `${LUA_HELPERS}
local function readSession(key)
  return redis.call('HMGET', key, 'secretHash', ${FIELDS.map((f) => `'${f}'`).join(", ")})
end
local function endIfExpired(key, values, now, idle)
  local lastSeen, absolute = tonumber(values[${LAST_SEEN}]), tonumber(values[${ABSOLUTE}])
  if now < absolute and now < lastSeen + idle then return false end
  redis.call('DEL', key)
  return true
end
local function slide(key, values, nowText, idle)
  redis.call('HSET', key, 'lastSeenAt', nowText)
  redis.call('PEXPIREAT', key, math.min(tonumber(nowText) + idle, tonumber(values[${ABSOLUTE}])))
  values[${LAST_SEEN}] = nowText
end
`;

// KEYS: session. ARGV: now, idle ms, secret hash. Returns FIELDS values, { 'expired', userId }
// (it has just ended it) or nil. A token session's secret is its refresh token, which must never
// work as a cookie session.
const VALIDATE_SESSION = `${LUA_SESSION}
local key, now, idle = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local values = readSession(key)
if str(values[1]) ~= ARGV[3] or str(values[${METHOD}]) == 'token' then return nil end
if endIfExpired(key, values, now, idle) then return { 'expired', values[2] } end
slide(key, values, ARGV[1], idle)
table.remove(values, 1)
return reply(values)
`;

// KEYS: session, denied-jti key. ARGV: now, idle ms. An access token's session check:
// the session must exist and be a token session, and this one token must not be revoked.
// Returns FIELDS values, { 'expired', userId } or nil. Slides the idle timeout like a cookie session's use.
const VALIDATE_TOKEN_SESSION = `${LUA_SESSION}
local key, now, idle = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then return nil end
local values = readSession(key)
if not str(values[1]) or str(values[${METHOD}]) ~= 'token' then return nil end
if endIfExpired(key, values, now, idle) then return { 'expired', values[2] } end
slide(key, values, ARGV[1], idle)
table.remove(values, 1)
return reply(values)
`;

// KEYS: session, rotated list. ARGV: now, idle ms, presented hash, new hash.
// The presented refresh token is the current one: it is replaced, and remembered as rotated.
// It is a rotated one: theft (or a client replaying), so the whole session ends at once.
// Returns { 'ok', FIELDS values... } | { 'reused', userId } | { 'expired', userId } | { 'invalid' }.
const ROTATE_REFRESH = `${LUA_SESSION}
local key, rotated = KEYS[1], KEYS[2]
local now, idle = tonumber(ARGV[1]), tonumber(ARGV[2])
local values = readSession(key)
local current = str(values[1])
if not current or str(values[${METHOD}]) ~= 'token' then return reply({ 'invalid' }) end
if endIfExpired(key, values, now, idle) then return reply({ 'expired', values[2] }) end
if current == ARGV[3] then
  redis.call('HSET', key, 'secretHash', ARGV[4])
  slide(key, values, ARGV[1], idle)
  redis.call('LPUSH', rotated, ARGV[3])
  redis.call('LTRIM', rotated, 0, ${REFRESH_REUSE_HISTORY - 1})
  redis.call('PEXPIREAT', rotated, tonumber(values[${ABSOLUTE}]))
  values[1] = 'ok'
  return reply(values)
end
for _, old in ipairs(redis.call('LRANGE', rotated, 0, -1)) do
  if old == ARGV[3] then
    redis.call('DEL', key, rotated)
    return reply({ 'reused', values[2] })
  end
end
return reply({ 'invalid' })
`;

// KEYS: session[, its user's index]. ARGV: session id, expected user id ('' = any).
// Returns { 1, userId } when a session was deleted (and left the index, when given), else { 0 }.
const DELETE_SESSION = `${LUA_HELPERS}
local key = KEYS[1]
local userId = str(redis.call('HGET', key, 'userId'))
if not userId or (ARGV[2] ~= '' and userId ~= ARGV[2]) then return { 0 } end
redis.call('DEL', key)
if KEYS[2] then redis.call('ZREM', KEYS[2], ARGV[1]) end
return { 1, userId }
`;

// What the lists read of a session, in the order LIST_SESSIONS packs them (after the id; the IP
// last, so it may hold anything). Only what a listing shows: the account fields are the caller's.
const LISTED = ["deviceId", "method", "createdAt", "lastSeenAt", "absoluteExpiresAt", "ip"] as const;

// KEYS: user index, then the known sessions' keys. ARGV: the length of a session key before its id
// (the same for all of one user's keys), so the ids are not sent twice: a 50-session list sends
// 50 keys, ~4.5 KB, and every byte sent over loopback TCP costs the sender.
// Returns one string per live session, "<id> <LISTED values, space-separated>", or { 'stale', ids... }
// when the index holds a session it was not given (then nothing is read). Gone ones leave the index.
// One packed string per session, not one bulk string per field: every value that crosses from
// HMGET into Lua and back costs Redis ~0.5 µs and the app a parsed reply element, and a 50-session
// list returned 500 of them (its script took ~0.4 ms of Redis CPU, the app ~0.2 ms to decode).
const LIST_SESSIONS = `${LUA_HELPERS}
local index, head = KEYS[1], tonumber(ARGV[1])
local keyOf = {}
for i = 2, #KEYS do keyOf[string.sub(KEYS[i], head + 1)] = KEYS[i] end
local out = {}
local ids = redis.call('ZRANGE', index, 0, -1)
for _, sid in ipairs(ids) do
  local key = keyOf[sid]
  if not key then
    table.insert(ids, 1, 'stale')
    return reply(ids)
  end
  local v = redis.call('HMGET', key, ${LISTED.map((f) => `'${f}'`).join(", ")})
  if not str(v[1]) then
    redis.call('ZREM', index, sid)
  else
    out[#out + 1] = sid .. ${LISTED.map((_, i) => `' ' .. (str(v[${i + 1}]) or '')`).join(" .. ")}
  end
end
return reply(out)
`;

// KEYS: user index, then the known sessions' keys. ARGV: new address, verified ('1'|'0'), known
// ids (count, ids). Sessions keep the address they were opened with (security mail goes to it): a
// change of address rewrites it in every live one. Returns { how many } or { 'stale', ids... }.
const SET_USER_ACCOUNT = `${LUA_INDEX}
local index = KEYS[1]
local keyOf = known(3, 2)
if unknownIn(index, keyOf) then return stale(index) end
local n = 0
for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local key = keyOf[sid]
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'email', ARGV[1], 'emailVerified', ARGV[2])
    n = n + 1
  end
end
return { n }
`;

// KEYS: user index, user epoch, then the known sessions' keys. ARGV: session id to keep ('' = none),
// device id ('' = any), epoch ttl ms ('' = leave the epoch), known ids (count, ids).
// Returns { 'ended', ids of the sessions it ended... } or { 'stale', ids... } (nothing done).
const DELETE_SESSIONS = `${LUA_INDEX}
local index, keep, device = KEYS[1], ARGV[1], ARGV[2]
local keyOf = known(4, 3)
if unknownIn(index, keyOf) then return stale(index) end
if ARGV[3] ~= '' then
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]))
end
prune(index, keyOf)
local ended = { 'ended' }
for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local key = keyOf[sid]
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
  return {
    // Spread first: V8 copies the fresh object in one step.
    ...timesOf(id, text(2), text(3), text(4), values[5], values[6], values[7], policy),
    userId: text(0),
    email: text(1),
    emailVerified: text(8) === "1" ? true : text(8) === "0" ? false : null,
  };
}

function timesOf(
  id: string,
  deviceId: string,
  ip: string,
  method: string,
  created: unknown,
  lastSeen: unknown,
  absolute: unknown,
  policy: SessionPolicy,
): ListedSession {
  if (!isSessionMethod(method)) throw new Error("A stored session has an unknown sign-in method");
  const createdAt = storedTime(created);
  const lastSeenAt = storedTime(lastSeen);
  const absoluteExpiresAt = storedTime(absolute);
  return {
    id,
    deviceId,
    ip,
    method,
    createdAt: new Date(createdAt),
    lastSeenAt: new Date(lastSeenAt),
    idleExpiresAt: new Date(Math.min(lastSeenAt + idleFor(policy, method), absoluteExpiresAt)),
    absoluteExpiresAt: new Date(absoluteExpiresAt),
  };
}

/** One line of LIST_SESSIONS: the id, then LISTED separated by spaces (the IP last, taken whole). */
function listedSession(line: string, policy: SessionPolicy): ListedSession {
  const at: number[] = [];
  for (let from = 0; at.length < LISTED.length; from = at[at.length - 1]! + 1) {
    const space = line.indexOf(" ", from);
    if (space < 0) throw new Error("A listed session is malformed");
    at.push(space);
  }
  const field = (i: number) => line.slice(at[i]! + 1, at[i + 1]);
  return timesOf(line.slice(0, at[0]), field(0), line.slice(at[5]! + 1), field(1), field(2), field(3), field(4), policy);
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

/** Users whose listed session ids a store remembers (a few MB at most; see listUserSessions). */
const LISTED_IDS_USERS = 10_000;
/** Listed sessions a store keeps parsed (~0.5 KB each; see listedLines). */
const LISTED_LINES_KEPT = 10_000;

/** A key the session's creation also sets, in the same script (so in the user's Redis Cluster slot). */
export interface SideWrite {
  key: string;
  value: string;
  px: number;
}

export interface CreateConditions {
  /** The session this one is created from: refused unless it still exists, for the same user. */
  parentSessionId?: string;
  /** The epoch read before the password was checked (currentEpoch): refused if it moved on. */
  epoch?: number;
}

/** One attempt of an index script with these ids (`hinted`: remembered, not read just before). */
type IndexRun = (ids: string[], hinted: boolean) => Promise<unknown>;

export class SessionStore {
  private readonly create;
  private readonly validate;
  private readonly remove;
  private readonly list;
  private readonly removeMany;
  private readonly validateToken;
  private readonly rotate;
  private readonly setAccount;
  private readonly epochMove;
  /**
   * Sessions as listed, by their exact line from LIST_SESSIONS: a line only repeats while nothing
   * in it changed (its last use is in it), so a list parses and dates only the sessions used since
   * the last one. The objects are shared: frozen, and their Dates must never be set.
   */
  private readonly listedLines = new BoundedCache<string, ListedSession>(LISTED_LINES_KEPT);
  /** Per user, the ids of the sessions this process listed last (listUserSessions) or left in the index (createSession). */
  private readonly listedIds = new BoundedCache<string, string[]>(LISTED_IDS_USERS);
  /** Per user, the last index write of this process (see throughIndex). */
  private readonly indexWrites = new Map<string, Promise<void>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly policy: SessionPolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.create = redis.createScript<unknown[]>(CREATE_SESSION);
    this.validate = redis.createScript<unknown[] | null>(VALIDATE_SESSION);
    this.remove = redis.createScript<unknown[]>(DELETE_SESSION);
    this.list = redis.createScript<unknown[]>(LIST_SESSIONS);
    this.removeMany = redis.createScript<unknown[]>(DELETE_SESSIONS);
    this.validateToken = redis.createScript<unknown[] | null>(VALIDATE_TOKEN_SESSION);
    this.rotate = redis.createScript<unknown[]>(ROTATE_REFRESH);
    this.setAccount = redis.createScript<unknown[]>(SET_USER_ACCOUNT);
    this.epochMove = redis.createScript<number>(MOVE_EPOCH);
  }

  /**
   * Always a brand-new id and secret (no fixation). Returns the token for the cookie (shown once,
   * never stored) and the ids of sessions evicted to respect the cap.
   */
  async createSession(
    input: NewSession,
    cap: SessionCap,
    conditions: CreateConditions = {},
    also: {
      /** The password was just entered: as markAuthenticated(id, freshForMs), in the same round trip. */
      freshForMs?: number;
      /** Keys of the user's slot to set once the session exists (e.g. the device list's new version). */
      writes?: SideWrite[];
    } = {},
  ): Promise<{ token: string; session: Session; evicted: string[]; evictedDevices: string[] }> {
    // The id carries the user's hash tag: whatever holds the id finds the slot of the user's keys.
    const id = taggedId(userTag(input.userId));
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
    const parent = conditions.parentSessionId;
    // A session of another user never carries this user's tag (nor shares the slot): it cannot vouch.
    if (parent !== undefined && !isUsersId(parent, input.userId)) throw new ParentSessionEndedError();
    const fixedKeys = [sessionKey(this.prefix, id), userSessionsKey(this.prefix, input.userId), userEpochKey(this.prefix, input.userId)];
    if (parent !== undefined) fixedKeys.push(sessionKey(this.prefix, parent));
    const args = [
      String(now),
      String(idleFor(this.policy, input.method)),
      String(absolute),
      String(cap.limit),
      cap.policy,
      sha256(secret),
      parent !== undefined ? "1" : "0",
      conditions.epoch === undefined ? "" : String(conditions.epoch),
      id,
      ...FIELDS.map((f) => values[f]),
    ];
    const writes = [...(also.freshForMs ? [{ key: recentAuthKey(this.prefix, id), value: String(now), px: also.freshForMs }] : []), ...(also.writes ?? [])];
    if (writes.length > 0 && commonSlot([...fixedKeys, ...writes.map((w) => w.key)]) === null)
      throw new Error(`A session's creation only sets keys of the user's slot, not ${writes.map((w) => w.key).join(", ")}`);
    const writeArgs = [String(writes.length), ...writes.flatMap((w) => [w.value, String(w.px)])];
    const [created, active, evictedCount, ...rest] = (await this.throughIndex(
      input.userId,
      (ids, hinted) =>
        this.create.exec(
          [...fixedKeys, ...ids.map((sid) => sessionKey(this.prefix, sid)), ...writes.map((w) => w.key)],
          [...args, hinted ? "1" : "0", String(ids.length), ...ids, ...writeArgs],
        ),
      // Starting from the ids this process saw last, when it has them (the script asks again when they are not enough).
      { hinted: true },
    )) as [unknown, unknown, unknown, ...unknown[]];
    if (Number(created) === -1) throw new ParentSessionEndedError();
    if (Number(created) === -2) throw new SessionEpochChangedError();
    if (Number(created) !== 1) throw new SessionLimitError(Number(active), cap.limit);
    const evicted = rest.slice(0, Number(evictedCount));
    this.listedIds.set(input.userId, rest.slice(Number(evictedCount)).map(String));
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
    const values = await this.validate.exec([sessionKey(this.prefix, parts.id)], [String(this.now()), String(this.policy.idleTimeoutMs), sha256(parts.secret)]);
    return this.validated(parts.id, values);
  }

  /**
   * An access token's session check, in one round trip: the token session is live and the token
   * (by its jti) was not revoked on its own. Slides the session's idle timeout.
   */
  async validateTokenSession(sessionId: string, jti: string): Promise<Session | null> {
    const values = await this.validateToken.exec(
      [sessionKey(this.prefix, sessionId), deniedAccessTokenKey(this.prefix, sessionId, jti)],
      [String(this.now()), String(idleFor(this.policy, "token"))],
    );
    return this.validated(sessionId, values);
  }

  /** A validation script's answer: the session, or null (after taking an expired one out of its user's index). */
  private async validated(sessionId: string, values: unknown[] | null): Promise<Session | null> {
    if (!Array.isArray(values)) return null;
    if (values.length === FIELDS.length) return toSession(sessionId, values, this.policy);
    if (values[0] === "expired") await this.unindex(String(values[1]), sessionId);
    return null;
  }

  /** Takes an ended session out of its user's index (a second step: the index may be in no script of the session alone). */
  private async unindex(userId: string, sessionId: string): Promise<void> {
    if (userId && isUsersId(sessionId, userId)) await this.redis.zrem(userSessionsKey(this.prefix, userId), sessionId);
  }

  /**
   * Runs an index script (see LUA_INDEX) with the ids the user's index holds, read just before (or,
   * `hinted`, as this process last saw them); again with the current ids while it answers 'stale',
   * at most SESSION_INDEX_READ_ATTEMPTS times. After this process's other index writes for the
   * user (one at a time per user and process), so only writes from other instances can make it
   * stale: each round lets at least one of them through, and a burst of one user's sign-ins on one
   * instance never runs out of attempts.
   */
  private throughIndex(userId: string, run: IndexRun, options: { hinted?: boolean } = {}): Promise<unknown[]> {
    const previous = this.indexWrites.get(userId) ?? Promise.resolve();
    // The hint is taken when this write's turn comes: the previous one may have just updated it.
    const mine = previous.then(() => this.indexAttempts(userId, run, options.hinted ? this.listedIds.get(userId) : undefined));
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    this.indexWrites.set(userId, tail);
    void tail.then(() => {
      if (this.indexWrites.get(userId) === tail) this.indexWrites.delete(userId);
    });
    return mine;
  }

  /** `knownIds`: the index's ids as last seen (a hint: a stale one costs a second attempt), instead of reading them first. */
  private async indexAttempts(userId: string, run: IndexRun, knownIds?: string[]): Promise<unknown[]> {
    let ids = knownIds ?? (await this.redis.zrange<string[]>(userSessionsKey(this.prefix, userId), 0, -1)).map(String);
    for (let attempt = 1; ; attempt++) {
      const reply = (await run(ids, attempt === 1 && knownIds !== undefined)) as unknown[];
      if (reply[0] !== "stale") return reply;
      if (attempt >= SESSION_INDEX_READ_ATTEMPTS) throw redisUnavailable(new Error(`The session index of a user changed ${attempt} times during one update`));
      ids = reply.slice(1).map(String);
    }
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
      [String(this.now()), String(idleFor(this.policy, "token")), sha256(parts.secret), sha256(secret)],
    )) as unknown as [unknown, ...unknown[]];
    if (outcome === "ok") return { outcome, token: `${parts.id}.${secret}`, session: toSession(parts.id, values, this.policy) };
    if (outcome === "reused" || outcome === "expired") await this.unindex(String(values[0]), parts.id);
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

  /** Revokes one access token (of this session) until its own expiry (its session stays). */
  async denyAccessToken(sessionId: string, jti: string, expiresAtMs: number): Promise<void> {
    const ttl = expiresAtMs - this.now();
    if (ttl > 0) await this.redis.set(deniedAccessTokenKey(this.prefix, sessionId, jti), "1", { px: ttl });
  }

  /** Ends a session at once. With userId, only if it belongs to that user. */
  async deleteSession(sessionId: string, userId?: string): Promise<boolean> {
    // Another user's session never carries this user's tag: nothing to delete (and no cross-slot script).
    if (userId !== undefined && !isUsersId(sessionId, userId)) return false;
    const keys = [sessionKey(this.prefix, sessionId)];
    if (userId !== undefined) keys.push(userSessionsKey(this.prefix, userId));
    const [deleted, owner] = (await this.remove.exec(keys, [sessionId, userId ?? ""])) as unknown[];
    if (Number(deleted) !== 1) return false;
    if (userId === undefined) await this.unindex(String(owner), sessionId);
    return true;
  }

  /**
   * The user's live sessions, most recently used first. Expired ones are pruned on the way. One
   * round trip while the user's index holds no session other than those this process listed last
   * time (remembered per user, LISTED_IDS_USERS users at most); else its current ids are read first.
   */
  async listUserSessions(userId: string): Promise<ListedSession[]> {
    const index = userSessionsKey(this.prefix, userId);
    const lines = await this.indexAttempts(
      userId,
      (ids) => this.list.exec([index, ...ids.map((sid) => sessionKey(this.prefix, sid))], [String(sessionKey(this.prefix, "").length)]),
      this.listedIds.get(userId),
    );
    const sessions = lines.map((line) => this.listedLines.getOrSet(String(line), (text) => Object.freeze(listedSession(text, this.policy))));
    this.listedIds.set(
      userId,
      sessions.map((s) => s.id),
    );
    return sessions.sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime());
  }

  /**
   * Ends the user's sessions (all, all but one, or those of one device); returns the ended ids.
   * `newEpoch`: in the same step, refuse every sign-in already in flight (see userEpochKey).
   */
  async deleteUserSessions(userId: string, options: { except?: string; deviceId?: string; newEpoch?: boolean } = {}): Promise<string[]> {
    const [, ...ended] = await this.throughIndex(userId, (ids) =>
      this.removeMany.exec(
        [userSessionsKey(this.prefix, userId), userEpochKey(this.prefix, userId), ...ids.map((sid) => sessionKey(this.prefix, sid))],
        [options.except ?? "", options.deviceId ?? "", options.newEpoch ? String(EPOCH_TTL_MS) : "", String(ids.length), ...ids],
      ),
    );
    return ended.map(String);
  }

  /** Whether the session still exists (not ended, not expired). */
  async isLive(sessionId: string): Promise<boolean> {
    return Number(await this.redis.exists(sessionKey(this.prefix, sessionId))) === 1;
  }

  /** After a change of address or its verification: every live session of the user carries it (auth.me answers from the session). */
  async setUserAccount(userId: string, account: { email: string; emailVerified: boolean }): Promise<number> {
    const [n] = await this.throughIndex(userId, (ids) =>
      this.setAccount.exec(
        [userSessionsKey(this.prefix, userId), ...ids.map((sid) => sessionKey(this.prefix, sid))],
        [account.email, account.emailVerified ? "1" : "0", String(ids.length), ...ids],
      ),
    );
    return Number(n);
  }

  /**
   * Moves the user's epoch on without ending any session: every sign-in in flight whose password
   * was checked before now is refused (a password change that keeps the other sessions).
   */
  async moveEpoch(userId: string): Promise<void> {
    await this.epochMove.exec([userEpochKey(this.prefix, userId)], [String(EPOCH_TTL_MS)]);
  }

  /** The user's session epoch, read before a password check (CreateConditions.epoch). */
  async currentEpoch(userId: string): Promise<number> {
    return Number(await this.redis.get(userEpochKey(this.prefix, userId))) || 0;
  }
}
