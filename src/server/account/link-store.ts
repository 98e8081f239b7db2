import type { Redis } from "@upstash/redis";
import { randomToken, sha256 } from "~/server/platform/crypto";
import { redisUnavailable } from "~/server/platform/redis/errors";
import { HASH_TAG_LENGTH, tagOf, userKey, userSlotKey, userTag } from "~/server/platform/redis/keys";
import { LUA_HELPERS } from "~/server/platform/redis/lua";
import { ACCOUNT_LINK_EXPIRED_KEPT_MS, SESSION_INDEX_READ_ATTEMPTS } from "~/server/policy";

// Account links sent by email (password reset, address verification, change of address): a
// 256-bit secret in the URL after the user's hash tag (platform/redis/keys.ts), of which Redis keeps
// only the SHA-256, under <prefix>{<tag>}account-link:<hash> (a hash of the fields below, expiring
// with the link). One link is current per user and purpose (<prefix>{<tag>}user:<userId>:link:<purpose>
// names its hash): issuing a new one deletes the old record in the same script, so a newer link
// voids older ones. Taking a link reads and deletes it in one script: of two concurrent uses exactly
// one gets the record; its current pointer is cleared right after (only if it still names it).

const LINK_PURPOSES = ["password_reset", "email_verification", "email_change"] as const;
export type LinkPurpose = (typeof LINK_PURPOSES)[number];

export interface AccountLink {
  purpose: LinkPurpose;
  userId: string;
  /** The address the link was sent to (the new one for a change of address). */
  sentTo: string;
  /** The account's address when the link was issued: a link is void once the address changed. */
  accountEmail: string;
  /** The session that asked for it ("" when none did): a change of address dies with that session. */
  sessionId: string;
  expiresAt: Date;
}

const FIELDS = ["purpose", "userId", "sentTo", "accountEmail", "expiresAt", "sessionId"] as const;

/** The record of the link whose token is `token` (hash = its SHA-256): in the slot of the tag the token starts with. */
const accountLinkKey = (prefix: string, token: string, hash: string) => `${prefix}{${tagOf(token)}}account-link:${hash}`;
/** The same record, named from the user (its token carries the user's tag). */
const usersLinkKey = (prefix: string, userId: string, hash: string) => userSlotKey(prefix, userId, `account-link:${hash}`);
const currentLinkKey = (prefix: string, userId: string, purpose: LinkPurpose) => userKey(prefix, userId, `link:${purpose}`);

// KEYS: record, current pointer[, the record the pointer named when read]. ARGV: hash, ttl ms, the
// hash the pointer held when read ('' = none), FIELDS values. Returns { 1 }, or { 'stale', hash }
// (nothing done) when the pointer changed since.
const ISSUE = `${LUA_HELPERS}
local old = str(redis.call('GET', KEYS[2])) or ''
if old ~= ARGV[3] then return { 'stale', old } end
if old ~= '' then redis.call('DEL', KEYS[3]) end
redis.call('HSET', KEYS[1], ${FIELDS.map((f, i) => `'${f}', ARGV[${i + 4}]`).join(", ")})
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
redis.call('SET', KEYS[2], ARGV[1], 'PX', tonumber(ARGV[2]))
return { 1 }
`;

// KEYS: record. ARGV: now, hash, '1' to take it (else only read), then the purposes accepted.
// Returns { 'ok' | 'taken', FIELDS values... } | { 'expired', FIELDS values... } | { 'invalid' }. A
// link of another purpose is left alone; a taken or expired one is deleted ('taken' or 'expired':
// the caller then clears its current pointer, which this script cannot name).
const READ = `${LUA_HELPERS}
local values = redis.call('HMGET', KEYS[1], ${FIELDS.map((f) => `'${f}'`).join(", ")})
local purpose = str(values[1])
if not purpose then return { 'invalid' } end
local accepted = false
for i = 4, #ARGV do if ARGV[i] == purpose then accepted = true end end
if not accepted then return { 'invalid' } end
local expired = tonumber(ARGV[1]) >= tonumber(str(values[5]) or '0')
local tag = 'ok'
if expired then tag = 'expired' elseif ARGV[3] == '1' then tag = 'taken' end
if tag ~= 'ok' then redis.call('DEL', KEYS[1]) end
local out = { tag }
for i = 1, ${FIELDS.length} do out[#out + 1] = str(values[i]) or '' end
return reply(out)
`;

// KEYS: the current pointer. ARGV: hash. Deletes the pointer if it still names that hash.
const CLEAR_POINTER = `${LUA_HELPERS}
if str(redis.call('GET', KEYS[1])) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: the user's current pointers (n, one per purpose), then the records the non-empty ones named
// when read. ARGV: n, then each pointer's hash as read ('' = none). Deletes the pointers and their
// records; returns { records deleted }, or { 'stale', current hashes... } (nothing done).
const VOID = `${LUA_HELPERS}
local n = tonumber(ARGV[1])
local current = { 'stale' }
local changed = false
for i = 1, n do
  current[i + 1] = str(redis.call('GET', KEYS[i])) or ''
  if current[i + 1] ~= ARGV[i + 1] then changed = true end
end
if changed then return reply(current) end
local deleted, at = 0, n + 1
for i = 1, n do
  if ARGV[i + 1] ~= '' then
    deleted = deleted + redis.call('DEL', KEYS[at])
    at = at + 1
  end
  redis.call('DEL', KEYS[i])
end
return { deleted }
`;

export type TakeResult = { ok: true; link: AccountLink } | { ok: false; why: "invalid" | "expired" };

/**
 * A link token: the user's hash tag, then 256 random bits, base64url (12 + 43 characters). Anything
 * else is not one of ours (links sent before the tag was added no longer open).
 */
const TOKEN = new RegExp(`^[A-Za-z0-9_-]{${HASH_TAG_LENGTH + 43}}$`);

const stale = (reply: unknown[]) => reply[0] === "stale";
const tooBusy = () => redisUnavailable(new Error("A user's account links kept changing during one update"));

export class AccountLinkStore {
  private readonly issueScript;
  private readonly readScript;
  private readonly voidScript;
  private readonly clearPointerScript;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.issueScript = redis.createScript<unknown[]>(ISSUE);
    this.readScript = redis.createScript<unknown[]>(READ);
    this.voidScript = redis.createScript<unknown[]>(VOID);
    this.clearPointerScript = redis.createScript<number>(CLEAR_POINTER);
  }

  /** A new link for the user and purpose (voiding the previous one): the secret for the URL, and when it expires. */
  async issue(input: Omit<AccountLink, "expiresAt" | "sessionId"> & { sessionId?: string }, ttlMs: number): Promise<{ token: string; expiresAt: Date }> {
    const token = `${userTag(input.userId)}${randomToken(32)}`;
    const hash = sha256(token);
    const expiresAt = this.now() + ttlMs;
    const values: Record<(typeof FIELDS)[number], string> = { ...input, sessionId: input.sessionId ?? "", expiresAt: String(expiresAt) };
    const pointer = currentLinkKey(this.prefix, input.userId, input.purpose);
    let old = "";
    for (let attempt = 1; ; attempt++) {
      const keys = [usersLinkKey(this.prefix, input.userId, hash), pointer];
      if (old) keys.push(usersLinkKey(this.prefix, input.userId, old));
      // Kept past its expiry (the script checks expiresAt), so a late click is told "expired".
      const reply = await this.issueScript.exec(keys, [hash, String(ttlMs + ACCOUNT_LINK_EXPIRED_KEPT_MS), old, ...FIELDS.map((f) => values[f])]);
      if (!stale(reply)) break;
      if (attempt >= SESSION_INDEX_READ_ATTEMPTS) throw tooBusy();
      old = String(reply[1] ?? "");
    }
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** Uses the link up (atomically: one caller gets it). Unknown, forged, used, voided: invalid. */
  take(token: string, purposes: readonly LinkPurpose[]): Promise<TakeResult> {
    return this.read(token, purposes, true);
  }

  /** Whether the link would work now, without using it (the page that shows the form). */
  peek(token: string, purposes: readonly LinkPurpose[]): Promise<TakeResult> {
    return this.read(token, purposes, false);
  }

  /** Voids the user's current links (of the given purposes, or all). */
  async voidLinks(userId: string, purposes: readonly LinkPurpose[] = LINK_PURPOSES): Promise<number> {
    const pointers = purposes.map((p) => currentLinkKey(this.prefix, userId, p));
    let hashes = purposes.map(() => "");
    for (let attempt = 1; ; attempt++) {
      const records = hashes.filter(Boolean).map((h) => usersLinkKey(this.prefix, userId, h));
      const reply = await this.voidScript.exec([...pointers, ...records], [String(pointers.length), ...hashes]);
      if (!stale(reply)) return Number(reply[0]);
      if (attempt >= SESSION_INDEX_READ_ATTEMPTS) throw tooBusy();
      hashes = reply.slice(1).map(String);
    }
  }

  private async read(token: string, purposes: readonly LinkPurpose[], take: boolean): Promise<TakeResult> {
    if (!TOKEN.test(token)) return { ok: false, why: "invalid" };
    const hash = sha256(token);
    const [tag, ...values] = (await this.readScript.exec(
      [accountLinkKey(this.prefix, token, hash)],
      [String(this.now()), hash, take ? "1" : "0", ...purposes],
    )) as [unknown, ...unknown[]];
    const text = (i: number) => String(values[i] ?? "");
    if (tag === "taken" || tag === "expired") {
      await this.clearPointerScript.exec([currentLinkKey(this.prefix, text(1), text(0) as LinkPurpose)], [hash]);
    }
    if (tag === "expired") return { ok: false, why: "expired" };
    if (tag !== "ok" && tag !== "taken") return { ok: false, why: "invalid" };
    return {
      ok: true,
      link: {
        purpose: text(0) as LinkPurpose,
        userId: text(1),
        sentTo: text(2),
        accountEmail: text(3),
        expiresAt: new Date(Number(values[4])),
        sessionId: text(5),
      },
    };
  }
}
