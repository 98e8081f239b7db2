import type { Redis } from "@upstash/redis";
import { z } from "zod";
import { randomToken, sha256, splitToken } from "./tokens";

// A session lives in Redis as a hash under <prefix>session:<id>, with only the SHA-256 of its
// secret; the user's sessions are indexed in a sorted set <prefix>user:<userId>:sessions (score =
// creation time). The key expires at min(last use + idle timeout, absolute expiry), so Redis drops
// dead sessions by itself; index entries whose key is gone are pruned whenever the index is read
// or written. Every check-and-write below is one Lua script: atomic, and one round trip.

export const SESSION_METHODS = ["password", "qr", "approval", "token"] as const;
export type SessionMethod = (typeof SESSION_METHODS)[number];

export interface SessionPolicy {
  idleTimeoutMs: number;
  absoluteLifetimeMs: number;
}

export interface Session {
  id: string;
  userId: string;
  email: string;
  deviceId: string;
  ip: string;
  userAgent: string;
  method: SessionMethod;
  createdAt: Date;
  lastSeenAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
}

export interface NewSession {
  userId: string;
  email: string;
  deviceId: string;
  ip: string;
  userAgent: string;
  method: SessionMethod;
}

export const sessionKey = (prefix: string, sessionId: string) => `${prefix}session:${sessionId}`;
export const userSessionsKey = (prefix: string, userId: string) => `${prefix}user:${userId}:sessions`;

// Fields in the order the scripts return them.
const FIELDS = ["userId", "email", "deviceId", "ip", "userAgent", "method", "createdAt", "lastSeenAt", "absoluteExpiresAt"] as const;

const LUA_PRELUDE = `
local unpack = unpack or table.unpack
local function prune(index, prefix)
  local ids = redis.call('ZRANGE', index, 0, -1)
  for _, sid in ipairs(ids) do
    if redis.call('EXISTS', prefix .. 'session:' .. sid) == 0 then redis.call('ZREM', index, sid) end
  end
end
`;

// KEYS: session, user index. ARGV: now, idle ms, absolute expiry, prefix, secret hash, then FIELDS values.
const CREATE_SESSION = `${LUA_PRELUDE}
local key, index = KEYS[1], KEYS[2]
local now, idle, absolute, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
prune(index, prefix)
local hash = { 'secretHash', ARGV[5] }
local names = { ${FIELDS.map((f) => `'${f}'`).join(", ")} }
for i, name in ipairs(names) do
  hash[#hash + 1] = name
  hash[#hash + 1] = ARGV[5 + i]
end
redis.call('HSET', key, unpack(hash))
redis.call('PEXPIREAT', key, math.min(now + idle, absolute))
redis.call('ZADD', index, now, string.sub(key, #prefix + 9))
local ttl = redis.call('PTTL', index)
if ttl < absolute - now then redis.call('PEXPIRE', index, absolute - now) end
return 1
`;

// KEYS: session. ARGV: now, idle ms, secret hash, prefix. Returns FIELDS values, or nil.
const VALIDATE_SESSION = `
local key = KEYS[1]
local now, idle = tonumber(ARGV[1]), tonumber(ARGV[2])
local values = redis.call('HMGET', key, 'secretHash', ${FIELDS.map((f) => `'${f}'`).join(", ")})
if not values[1] or values[1] ~= ARGV[3] then return nil end
local lastSeen, absolute = tonumber(values[9]), tonumber(values[10])
if now >= absolute or now >= lastSeen + idle then
  redis.call('DEL', key)
  redis.call('ZREM', ARGV[4] .. 'user:' .. values[2] .. ':sessions', string.sub(key, #ARGV[4] + 9))
  return nil
end
redis.call('HSET', key, 'lastSeenAt', ARGV[1])
redis.call('PEXPIREAT', key, math.min(now + idle, absolute))
values[9] = ARGV[1]
table.remove(values, 1)
return values
`;

// KEYS: session. ARGV: prefix, expected user id ('' = any). Returns 1 when a session was deleted.
const DELETE_SESSION = `
local key = KEYS[1]
local userId = redis.call('HGET', key, 'userId')
if not userId or (ARGV[2] ~= '' and userId ~= ARGV[2]) then return 0 end
redis.call('DEL', key)
redis.call('ZREM', ARGV[1] .. 'user:' .. userId .. ':sessions', string.sub(key, #ARGV[1] + 9))
return 1
`;

const storedSession = z.object({
  userId: z.string(),
  email: z.string(),
  deviceId: z.string(),
  ip: z.string(),
  userAgent: z.string(),
  method: z.enum(SESSION_METHODS),
  createdAt: z.coerce.number(),
  lastSeenAt: z.coerce.number(),
  absoluteExpiresAt: z.coerce.number(),
});

function toSession(id: string, values: unknown[], policy: SessionPolicy): Session {
  // @upstash/redis may turn number-like strings into numbers: coerce every field back.
  const raw = Object.fromEntries(FIELDS.map((f, i) => [f, f.endsWith("At") ? values[i] : String(values[i] ?? "")]));
  const s = storedSession.parse(raw);
  return {
    id,
    userId: s.userId,
    email: s.email,
    deviceId: s.deviceId,
    ip: s.ip,
    userAgent: s.userAgent,
    method: s.method,
    createdAt: new Date(s.createdAt),
    lastSeenAt: new Date(s.lastSeenAt),
    idleExpiresAt: new Date(Math.min(s.lastSeenAt + policy.idleTimeoutMs, s.absoluteExpiresAt)),
    absoluteExpiresAt: new Date(s.absoluteExpiresAt),
  };
}

export class SessionStore {
  private readonly create;
  private readonly validate;
  private readonly remove;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly policy: SessionPolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.create = redis.createScript<number>(CREATE_SESSION);
    this.validate = redis.createScript<unknown[] | null>(VALIDATE_SESSION);
    this.remove = redis.createScript<number>(DELETE_SESSION);
  }

  /** Always a brand-new id and secret (no fixation). Returns the token for the cookie: shown once, never stored. */
  async createSession(input: NewSession): Promise<{ token: string; session: Session }> {
    const id = randomToken(16);
    const secret = randomToken(32);
    const now = this.now();
    const absolute = now + this.policy.absoluteLifetimeMs;
    const values: Record<(typeof FIELDS)[number], string> = {
      userId: input.userId,
      email: input.email,
      deviceId: input.deviceId,
      ip: input.ip,
      userAgent: input.userAgent,
      method: input.method,
      createdAt: String(now),
      lastSeenAt: String(now),
      absoluteExpiresAt: String(absolute),
    };
    await this.create.exec(
      [sessionKey(this.prefix, id), userSessionsKey(this.prefix, input.userId)],
      [String(now), String(this.policy.idleTimeoutMs), String(absolute), this.prefix, sha256(secret), ...FIELDS.map((f) => values[f])],
    );
    return { token: `${id}.${secret}`, session: toSession(id, FIELDS.map((f) => values[f]), this.policy) };
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

  /** Ends a session at once. With userId, only if it belongs to that user. */
  async deleteSession(sessionId: string, userId?: string): Promise<boolean> {
    const deleted = await this.remove.exec([sessionKey(this.prefix, sessionId)], [this.prefix, userId ?? ""]);
    return Number(deleted) === 1;
  }
}
