import { randomInt } from "node:crypto";
import type { Redis } from "@upstash/redis";
import { CREATE_RECORD, LUA_HELPERS, luaRecordReader } from "~/server/platform/redis/lua";
import { APPROVAL_CODE_ATTEMPTS } from "~/server/policy";
import { randomToken, sha256 } from "~/server/platform/crypto";

// New-device approval requests in Redis. A correct password from an unknown device, while the
// user is signed in elsewhere, creates one instead of a session: the new device shows a 6-digit
// code that one of the user's signed-in devices must type (number matching). Stored: the code's
// hash, the attempt counter, the hash of the requesting browser's secret (a cookie), and who asks.
// status: pending -> approved -> completed, or denied / failed (5 wrong codes) / cancelled.
// Every check-and-change is one Lua script; the key expires APPROVAL_TTL_SECONDS after creation.

export type ApprovalStatus = "pending" | "approved" | "denied" | "failed" | "completed" | "cancelled" | "expired";

export interface ApprovalRequest {
  id: string;
  userId: string;
  status: ApprovalStatus;
  attempts: number;
  ip: string;
  userAgent: string;
  /** The name a token client gave itself; "" for a browser (named after its user agent). */
  deviceName: string;
  /** The session that typed the right code; the new session is created only while it exists. */
  approvedBy: string;
  createdAt: Date;
  expiresAt: Date;
}

const FIELDS = ["userId", "status", "attempts", "ip", "userAgent", "deviceName", "createdAt", "expiresAt", "approvedBy"] as const;
const READ = luaRecordReader(FIELDS);

// KEYS: record. ARGV: user id, code hash, max attempts, approving session id. Returns
// { outcome, fields... } where outcome is 'approved' | 'wrong' | 'failed' | 'invalid'.
const CONFIRM = `${LUA_HELPERS}${READ}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 or str(redis.call('HGET', key, 'userId')) ~= ARGV[1] then return { 'invalid' } end
if str(redis.call('HGET', key, 'status')) ~= 'pending' then return answer('invalid', key) end
if str(redis.call('HGET', key, 'codeHash')) == ARGV[2] then
  redis.call('HSET', key, 'status', 'approved', 'approvedBy', ARGV[4])
  return answer('approved', key)
end
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
if attempts >= tonumber(ARGV[3]) then
  redis.call('HSET', key, 'status', 'failed')
  return answer('failed', key)
end
return answer('wrong', key)
`;

// KEYS: record. ARGV: user id. Pending -> denied.
const DENY = `${LUA_HELPERS}${READ}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 or str(redis.call('HGET', key, 'userId')) ~= ARGV[1] then return { 'invalid' } end
if str(redis.call('HGET', key, 'status')) ~= 'pending' then return answer('invalid', key) end
redis.call('HSET', key, 'status', 'denied')
return answer('ok', key)
`;

// KEYS: record. ARGV: browser secret hash. Approved -> completed, once.
const COMPLETE = `${LUA_HELPERS}${READ}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 or str(redis.call('HGET', key, 'secretHash')) ~= ARGV[1] then return { 'invalid' } end
if str(redis.call('HGET', key, 'status')) ~= 'approved' then return answer('not_approved', key) end
redis.call('HSET', key, 'status', 'completed')
return answer('ok', key)
`;

// KEYS: record. ARGV: browser secret hash ('' = skip), user id ('' = skip).
const WATCH = `${LUA_HELPERS}${READ}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { 'gone' } end
local mine = (ARGV[1] ~= '' and str(redis.call('HGET', key, 'secretHash')) == ARGV[1]) or (ARGV[2] ~= '' and str(redis.call('HGET', key, 'userId')) == ARGV[2])
if not mine then return { 'forbidden' } end
return answer('ok', key)
`;

// KEYS: user index. ARGV: prefix. Returns { id, fields..., id, ... } of the user's live requests.
const LIST = `${LUA_HELPERS}${READ}
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. 'approval:' .. id
  if redis.call('EXISTS', key) == 1 then
    out[#out + 1] = id
    for _, v in ipairs(read(key)) do out[#out + 1] = v end
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return reply(out)
`;

// KEYS: user index. ARGV: prefix, device cookie hash ('' = every request). Cancels open requests.
const CANCEL = `${LUA_HELPERS}
local cancelled = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. 'approval:' .. id
  local status = str(redis.call('HGET', key, 'status'))
  if (status == 'pending' or status == 'approved') and (ARGV[2] == '' or str(redis.call('HGET', key, 'deviceCookieHash')) == ARGV[2]) then
    redis.call('HSET', key, 'status', 'cancelled')
    cancelled[#cancelled + 1] = id
  end
end
return reply(cancelled)
`;

const approvalKey = (prefix: string, id: string) => `${prefix}approval:${id}`;
const userApprovalsKey = (prefix: string, userId: string) => `${prefix}user:${userId}:approvals`;

function toRequest(id: string, values: unknown[]): ApprovalRequest {
  const v = Object.fromEntries(FIELDS.map((f, i) => [f, String(values[i] ?? "")])) as Record<(typeof FIELDS)[number], string>;
  return {
    id,
    userId: v.userId,
    status: v.status as ApprovalStatus,
    attempts: Number(v.attempts) || 0,
    ip: v.ip,
    userAgent: v.userAgent,
    deviceName: v.deviceName,
    approvedBy: v.approvedBy,
    createdAt: new Date(Number(v.createdAt)),
    expiresAt: new Date(Number(v.expiresAt)),
  };
}

/** Six digits from the CSPRNG, uniformly. */
export function randomCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, "0");
}

const codeHash = (id: string, code: string) => sha256(`${id}:${code}`);

export type ConfirmOutcome = { outcome: "approved" | "wrong" | "failed"; request: ApprovalRequest } | { outcome: "invalid"; request: ApprovalRequest | null };

export class ApprovalStore {
  private readonly scripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.scripts = {
      create: redis.createScript<number>(CREATE_RECORD),
      confirm: redis.createScript<unknown[]>(CONFIRM),
      deny: redis.createScript<unknown[]>(DENY),
      complete: redis.createScript<unknown[]>(COMPLETE),
      watch: redis.createScript<unknown[]>(WATCH),
      list: redis.createScript<unknown[]>(LIST),
      cancel: redis.createScript<unknown[]>(CANCEL),
    };
  }

  /** Returns the code to show (once) and the browser secret for the requesting browser's cookie. */
  async create(input: { userId: string; ip: string; userAgent: string; deviceCookieHash: string; deviceName?: string }) {
    const id = randomToken(16);
    const code = randomCode();
    const browserSecret = randomToken(32);
    const now = this.now();
    const expiresAt = now + this.ttlMs;
    const fields = {
      userId: input.userId,
      status: "pending",
      attempts: "0",
      codeHash: codeHash(id, code),
      secretHash: sha256(browserSecret),
      deviceCookieHash: input.deviceCookieHash,
      ip: input.ip,
      userAgent: input.userAgent,
      deviceName: input.deviceName ?? "",
      createdAt: String(now),
      expiresAt: String(expiresAt),
    };
    await this.scripts.create.exec(
      [approvalKey(this.prefix, id), userApprovalsKey(this.prefix, input.userId)],
      [String(this.ttlMs), ...Object.entries(fields).flat()],
    );
    return { id, code, browserSecret, expiresAt: new Date(expiresAt) };
  }

  /** `sessionId`: the approving session, which the new device's session will depend on. */
  async confirm(id: string, userId: string, code: string, sessionId = ""): Promise<ConfirmOutcome> {
    const [outcome, ...values] = await this.scripts.confirm.exec(
      [approvalKey(this.prefix, id)],
      [userId, codeHash(id, code), String(APPROVAL_CODE_ATTEMPTS), sessionId],
    );
    const request = values.length ? toRequest(id, values) : null;
    if (outcome === "approved" || outcome === "wrong" || outcome === "failed") return { outcome, request: request! };
    return { outcome: "invalid", request };
  }

  async deny(id: string, userId: string): Promise<ApprovalRequest | null> {
    const [outcome, ...values] = await this.scripts.deny.exec([approvalKey(this.prefix, id)], [userId]);
    return outcome === "ok" ? toRequest(id, values) : null;
  }

  async complete(id: string, browserSecret: string): Promise<{ ok: true; request: ApprovalRequest } | { ok: false; status: ApprovalStatus | "invalid" }> {
    const [outcome, ...values] = await this.scripts.complete.exec([approvalKey(this.prefix, id)], [sha256(browserSecret)]);
    if (outcome === "ok") return { ok: true, request: toRequest(id, values) };
    if (outcome === "not_approved") return { ok: false, status: toRequest(id, values).status };
    return { ok: false, status: "invalid" };
  }

  async watch(id: string, viewer: { browserSecret?: string | null; userId?: string | null }): Promise<ApprovalRequest | "gone" | "forbidden"> {
    const [outcome, ...values] = await this.scripts.watch.exec(
      [approvalKey(this.prefix, id)],
      [viewer.browserSecret ? sha256(viewer.browserSecret) : "", viewer.userId ?? ""],
    );
    if (outcome === "ok") return toRequest(id, values);
    return outcome === "forbidden" ? "forbidden" : "gone";
  }

  /** The user's requests that still exist, in any state. */
  async listForUser(userId: string): Promise<ApprovalRequest[]> {
    const flat = await this.scripts.list.exec([userApprovalsKey(this.prefix, userId)], [this.prefix]);
    const width = FIELDS.length + 1;
    const requests: ApprovalRequest[] = [];
    for (let i = 0; i + width <= flat.length; i += width) requests.push(toRequest(String(flat[i]), flat.slice(i + 1, i + width)));
    return requests.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  /** Cancels the user's open requests: all of them, or those from one browser (by device cookie hash). */
  async cancelForUser(userId: string, deviceCookieHash = ""): Promise<string[]> {
    return (await this.scripts.cancel.exec([userApprovalsKey(this.prefix, userId)], [this.prefix, deviceCookieHash])).map(String);
  }
}
