import type { Redis } from "@upstash/redis";
import { CREATE_RECORD, LUA_HELPERS, luaRecordReader } from "~/server/platform/redis/lua";
import { randomToken, sha256, splitToken } from "~/server/platform/crypto";

// QR handoff requests in Redis. A request moves a session to another device; two kinds:
//   "signin": a new device shows the QR; a signed-in phone scans it, inspects and approves.
//   "offer":  a signed-in device shows the QR; another device scans it (claims) and, once the
//             offering device approves, gets its own session.
// Roles: the *owner* is the signed-in user who grants the session; the *recipient* is the browser
// that receives it and alone holds the secret needed to collect it (a cookie), so the QR alone
// never yields a session. Only hashes of the QR secret and the browser secret are stored.
//
// status: pending -> scanned -> approved -> completed, or denied / cancelled; the key expires
// HANDOFF_TTL_SECONDS after creation, whatever its state. Every transition is one Lua script.

export type HandoffKind = "signin" | "offer";
export type HandoffStatus = "pending" | "scanned" | "approved" | "denied" | "completed" | "cancelled" | "expired";

export interface Party {
  ip: string;
  userAgent: string;
}

export interface HandoffRecord {
  id: string;
  kind: HandoffKind;
  status: HandoffStatus;
  createdAt: Date;
  expiresAt: Date;
  ownerUserId: string | null;
  ownerSessionId: string | null;
  owner: Party | null;
  recipient: Party | null;
}

export const handoffKey = (prefix: string, id: string) => `${prefix}handoff:${id}`;
export const userHandoffsKey = (prefix: string, userId: string) => `${prefix}user:${userId}:handoffs`;

const FIELDS = ["kind", "status", "createdAt", "expiresAt", "ownerUserId", "ownerSessionId", "ownerIp", "ownerUa", "recipientIp", "recipientUa"] as const;
const READ = luaRecordReader(FIELDS);

// Binds the party that scanned the QR. KEYS: record, index prefix. ARGV: token hash, kind, role,
// then role fields: owner -> userId, sessionId, ip, ua; recipient -> secret hash, ip, ua.
// Returns { 'ok', fields... } or { error code }.
const BIND = `${LUA_HELPERS}${READ}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { 'invalid' } end
if str(redis.call('HGET', key, 'tokenHash')) ~= ARGV[1] or str(redis.call('HGET', key, 'kind')) ~= ARGV[2] then return { 'invalid' } end
local status = str(redis.call('HGET', key, 'status'))
if ARGV[3] == 'owner' then
  local owner = str(redis.call('HGET', key, 'ownerUserId'))
  if status == 'pending' or (status == 'scanned' and owner == ARGV[4]) then
    redis.call('HSET', key, 'status', 'scanned', 'ownerUserId', ARGV[4], 'ownerSessionId', ARGV[5], 'ownerIp', ARGV[6], 'ownerUa', ARGV[7])
    local index = KEYS[2] .. ARGV[4] .. ':handoffs'
    redis.call('SADD', index, string.match(key, '[^:]+$'))
    -- The index lives as long as its longest member: an older QR scanned now must not shorten it.
    local ttl = redis.call('PTTL', key)
    if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
  else
    return { 'invalid' }
  end
else
  local secret = str(redis.call('HGET', key, 'recipientSecretHash'))
  if status == 'pending' or (status == 'scanned' and secret == ARGV[4]) then
    redis.call('HSET', key, 'status', 'scanned', 'recipientSecretHash', ARGV[4], 'recipientIp', ARGV[5], 'recipientUa', ARGV[6])
  else
    return { 'invalid' }
  end
end
return answer('ok', key)
`;

// The owner decides. KEYS: record. ARGV: token hash, owner user id, 'approved' | 'denied',
// deciding session id (the one the recipient's session is created from).
const DECIDE = `${LUA_HELPERS}${READ}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { 'invalid' } end
if str(redis.call('HGET', key, 'tokenHash')) ~= ARGV[1] then return { 'invalid' } end
if str(redis.call('HGET', key, 'ownerUserId')) ~= ARGV[2] then return { 'invalid' } end
local status = str(redis.call('HGET', key, 'status'))
local allowed = status == 'scanned' or (ARGV[3] == 'denied' and status == 'pending')
if not allowed then return { 'invalid' } end
redis.call('HSET', key, 'status', ARGV[3], 'ownerSessionId', ARGV[4])
return answer('ok', key)
`;

// The recipient collects its session, once. KEYS: record. ARGV: recipient secret hash.
const COMPLETE = `${LUA_HELPERS}${READ}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { 'invalid' } end
if str(redis.call('HGET', key, 'recipientSecretHash')) ~= ARGV[1] then return { 'invalid' } end
local status = str(redis.call('HGET', key, 'status'))
if status ~= 'approved' then return { 'not_approved', status or '' } end
redis.call('HSET', key, 'status', 'completed')
return answer('ok', key)
`;

// KEYS: record. ARGV: recipient secret hash ('' = skip), owner user id ('' = skip).
// Returns { 'ok', fields... } when the caller is the recipient or the owner.
const WATCH = `${LUA_HELPERS}${READ}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { 'gone' } end
local isRecipient = ARGV[1] ~= '' and str(redis.call('HGET', key, 'recipientSecretHash')) == ARGV[1]
local isOwner = ARGV[2] ~= '' and str(redis.call('HGET', key, 'ownerUserId')) == ARGV[2]
if not isRecipient and not isOwner then return { 'forbidden' } end
return answer('ok', key)
`;

// Lockout: cancels every open request the user owns. KEYS: user index. ARGV: prefix.
const CANCEL_ALL = `${LUA_HELPERS}
local cancelled = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. 'handoff:' .. id
  local status = str(redis.call('HGET', key, 'status'))
  if status == 'pending' or status == 'scanned' or status == 'approved' then
    redis.call('HSET', key, 'status', 'cancelled')
    cancelled[#cancelled + 1] = id
  end
end
redis.call('DEL', KEYS[1])
return reply(cancelled)
`;

function toRecord(id: string, values: unknown[]): HandoffRecord {
  const v = Object.fromEntries(FIELDS.map((f, i) => [f, String(values[i] ?? "")])) as Record<(typeof FIELDS)[number], string>;
  return {
    id,
    kind: v.kind as HandoffKind,
    status: v.status as HandoffStatus,
    createdAt: new Date(Number(v.createdAt)),
    expiresAt: new Date(Number(v.expiresAt)),
    ownerUserId: v.ownerUserId || null,
    ownerSessionId: v.ownerSessionId || null,
    owner: v.ownerIp ? { ip: v.ownerIp, userAgent: v.ownerUa } : null,
    recipient: v.recipientIp ? { ip: v.recipientIp, userAgent: v.recipientUa } : null,
  };
}

export class HandoffInvalidError extends Error {
  constructor() {
    super("This QR code is no longer valid");
    this.name = "HandoffInvalidError";
  }
}

export class HandoffStore {
  private readonly scripts;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.scripts = {
      create: redis.createScript<number>(CREATE_RECORD),
      bind: redis.createScript<unknown[]>(BIND),
      decide: redis.createScript<unknown[]>(DECIDE),
      complete: redis.createScript<unknown[]>(COMPLETE),
      watch: redis.createScript<unknown[]>(WATCH),
      cancelAll: redis.createScript<unknown[]>(CANCEL_ALL),
    };
  }

  /**
   * Creates a request. Returns the QR token (id.secret: shown once, only its hash is kept) and,
   * for the side that will receive the session, the browser secret to keep in a cookie.
   */
  async create(
    kind: HandoffKind,
    party: Party & { userId?: string; sessionId?: string },
  ): Promise<{ id: string; token: string; browserSecret: string | null; expiresAt: Date }> {
    const id = randomToken(16);
    const secret = randomToken(32);
    const now = this.now();
    const expiresAt = now + this.ttlMs;
    const fields: Record<string, string> = {
      kind,
      status: "pending",
      tokenHash: sha256(secret),
      createdAt: String(now),
      expiresAt: String(expiresAt),
    };
    let browserSecret: string | null = null;
    if (kind === "signin") {
      browserSecret = randomToken(32);
      Object.assign(fields, { recipientSecretHash: sha256(browserSecret), recipientIp: party.ip, recipientUa: party.userAgent });
    } else {
      Object.assign(fields, { ownerUserId: party.userId!, ownerSessionId: party.sessionId!, ownerIp: party.ip, ownerUa: party.userAgent });
    }
    await this.scripts.create.exec(
      [handoffKey(this.prefix, id), kind === "offer" ? userHandoffsKey(this.prefix, party.userId!) : ""],
      [String(this.ttlMs), ...Object.entries(fields).flat()],
    );
    return { id, token: `${id}.${secret}`, browserSecret, expiresAt: new Date(expiresAt) };
  }

  private parts(token: string) {
    const parts = splitToken(token);
    if (!parts) throw new HandoffInvalidError();
    return { key: handoffKey(this.prefix, parts.id), id: parts.id, secretHash: sha256(parts.secret) };
  }

  private parse(result: unknown[], id: string): HandoffRecord {
    if (result[0] !== "ok") throw new HandoffInvalidError();
    return toRecord(id, result.slice(1));
  }

  /** Flow A: the signed-in phone that scanned the QR becomes its owner (first scanner only). */
  async bindOwner(token: string, kind: HandoffKind, owner: Party & { userId: string; sessionId: string }): Promise<HandoffRecord> {
    const t = this.parts(token);
    const result = await this.scripts.bind.exec(
      [t.key, `${this.prefix}user:`],
      [t.secretHash, kind, "owner", owner.userId, owner.sessionId, owner.ip, owner.userAgent],
    );
    return this.parse(result, t.id);
  }

  /**
   * Flow B: the browser that scanned an offer claims it. One claimant only; the same browser
   * claiming again (a reload, with its secret from the cookie) is idempotent.
   */
  async bindRecipient(token: string, recipient: Party, browserSecret: string = randomToken(32)): Promise<{ record: HandoffRecord; browserSecret: string }> {
    const t = this.parts(token);
    const result = await this.scripts.bind.exec(
      [t.key, `${this.prefix}user:`],
      [t.secretHash, "offer", "recipient", sha256(browserSecret), recipient.ip, recipient.userAgent],
    );
    return { record: this.parse(result, t.id), browserSecret };
  }

  async decide(token: string, owner: { userId: string; sessionId: string }, decision: "approved" | "denied"): Promise<HandoffRecord> {
    const t = this.parts(token);
    const result = await this.scripts.decide.exec([t.key], [t.secretHash, owner.userId, decision, owner.sessionId]);
    return this.parse(result, t.id);
  }

  /** The recipient collects: exactly one caller ever gets the record back, and only once approved. */
  async complete(id: string, browserSecret: string): Promise<{ ok: true; record: HandoffRecord } | { ok: false; status: HandoffStatus | "invalid" }> {
    const result = await this.scripts.complete.exec([handoffKey(this.prefix, id)], [sha256(browserSecret)]);
    if (result[0] === "ok") return { ok: true, record: toRecord(id, result.slice(1)) };
    if (result[0] === "not_approved") return { ok: false, status: String(result[1]) as HandoffStatus };
    return { ok: false, status: "invalid" };
  }

  /** The current state, for the recipient (by browser secret) or the owner (by user id). */
  async watch(id: string, viewer: { browserSecret?: string | null; userId?: string | null }): Promise<HandoffRecord | "gone" | "forbidden"> {
    const result = await this.scripts.watch.exec(
      [handoffKey(this.prefix, id)],
      [viewer.browserSecret ? sha256(viewer.browserSecret) : "", viewer.userId ?? ""],
    );
    if (result[0] === "ok") return toRecord(id, result.slice(1));
    return result[0] === "forbidden" ? "forbidden" : "gone";
  }

  /** Emergency lockout: every request the user owns that is not finished is cancelled. */
  async cancelForUser(userId: string): Promise<string[]> {
    const cancelled = await this.scripts.cancelAll.exec([userHandoffsKey(this.prefix, userId)], [this.prefix]);
    return cancelled.map(String);
  }
}
