import type { Redis } from "@upstash/redis";
import { randomToken, sha256 } from "~/server/platform/crypto";
import { LUA_HELPERS } from "~/server/platform/redis/lua";
import { ACCOUNT_LINK_EXPIRED_KEPT_MS } from "~/server/policy";

// Account links sent by email (password reset, address verification, change of address): a
// 256-bit secret in the URL, of which Redis keeps only the SHA-256, under
// <prefix>account-link:<hash> (a hash of the fields below, expiring with the link). One link is
// current per user and purpose (<prefix>user:<userId>:link:<purpose> names its hash): issuing a new
// one deletes the old record in the same script, so a newer link voids older ones. Taking a link
// reads and deletes it in one script: of two concurrent uses exactly one gets the record.

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

const accountLinkKey = (prefix: string, hash: string) => `${prefix}account-link:${hash}`;
const currentLinkKey = (prefix: string, userId: string, purpose: LinkPurpose) => `${prefix}user:${userId}:link:${purpose}`;

// KEYS: record, current pointer. ARGV: hash, ttl ms, prefix, FIELDS values.
const ISSUE = `${LUA_HELPERS}
local old = str(redis.call('GET', KEYS[2]))
if old then redis.call('DEL', ARGV[3] .. 'account-link:' .. old) end
redis.call('HSET', KEYS[1], ${FIELDS.map((f, i) => `'${f}', ARGV[${i + 4}]`).join(", ")})
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
redis.call('SET', KEYS[2], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
`;

// KEYS: record. ARGV: now, prefix, hash, '1' to take it (else only read), then the purposes accepted.
// Returns { 'ok', FIELDS values... } | { 'expired' } | { 'invalid' }. A link of another purpose is
// left alone; a taken or expired one is deleted with its current pointer.
const READ = `${LUA_HELPERS}
local values = redis.call('HMGET', KEYS[1], ${FIELDS.map((f) => `'${f}'`).join(", ")})
local purpose = str(values[1])
if not purpose then return { 'invalid' } end
local accepted = false
for i = 5, #ARGV do if ARGV[i] == purpose then accepted = true end end
if not accepted then return { 'invalid' } end
local expired = tonumber(ARGV[1]) >= tonumber(str(values[5]) or '0')
if ARGV[4] == '1' or expired then
  redis.call('DEL', KEYS[1])
  local pointer = ARGV[2] .. 'user:' .. str(values[2]) .. ':link:' .. purpose
  if str(redis.call('GET', pointer)) == ARGV[3] then redis.call('DEL', pointer) end
end
if expired then return { 'expired' } end
local out = { 'ok' }
for i = 1, ${FIELDS.length} do out[#out + 1] = str(values[i]) or '' end
return reply(out)
`;

// KEYS: the user's current pointers (one per purpose). ARGV: prefix. Deletes them and their records.
const VOID = `${LUA_HELPERS}
local n = 0
for _, pointer in ipairs(KEYS) do
  local hash = str(redis.call('GET', pointer))
  if hash then n = n + redis.call('DEL', ARGV[1] .. 'account-link:' .. hash) end
  redis.call('DEL', pointer)
end
return n
`;

export type TakeResult = { ok: true; link: AccountLink } | { ok: false; why: "invalid" | "expired" };

/** A link token: 256 random bits, base64url (43 characters). Anything else is not one of ours. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export class AccountLinkStore {
  private readonly issueScript;
  private readonly readScript;
  private readonly voidScript;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.issueScript = redis.createScript<number>(ISSUE);
    this.readScript = redis.createScript<unknown[]>(READ);
    this.voidScript = redis.createScript<number>(VOID);
  }

  /** A new link for the user and purpose (voiding the previous one): the secret for the URL, and when it expires. */
  async issue(input: Omit<AccountLink, "expiresAt" | "sessionId"> & { sessionId?: string }, ttlMs: number): Promise<{ token: string; expiresAt: Date }> {
    const token = randomToken(32);
    const hash = sha256(token);
    const expiresAt = this.now() + ttlMs;
    const values: Record<(typeof FIELDS)[number], string> = { ...input, sessionId: input.sessionId ?? "", expiresAt: String(expiresAt) };
    await this.issueScript.exec(
      [accountLinkKey(this.prefix, hash), currentLinkKey(this.prefix, input.userId, input.purpose)],
      // Kept past its expiry (the script checks expiresAt), so a late click is told "expired".
      [hash, String(ttlMs + ACCOUNT_LINK_EXPIRED_KEPT_MS), this.prefix, ...FIELDS.map((f) => values[f])],
    );
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
    return Number(
      await this.voidScript.exec(
        purposes.map((p) => currentLinkKey(this.prefix, userId, p)),
        [this.prefix],
      ),
    );
  }

  private async read(token: string, purposes: readonly LinkPurpose[], take: boolean): Promise<TakeResult> {
    if (!TOKEN.test(token)) return { ok: false, why: "invalid" };
    const hash = sha256(token);
    const [tag, ...values] = (await this.readScript.exec(
      [accountLinkKey(this.prefix, hash)],
      [String(this.now()), this.prefix, hash, take ? "1" : "0", ...purposes],
    )) as [unknown, ...unknown[]];
    if (tag === "expired") return { ok: false, why: "expired" };
    if (tag !== "ok") return { ok: false, why: "invalid" };
    const text = (i: number) => String(values[i] ?? "");
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
