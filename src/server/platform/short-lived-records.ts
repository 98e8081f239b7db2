import type { Redis } from "@upstash/redis";
import { idKey, liveChannel, recordTopic, tagOf, taggedId, userKey, userTag } from "~/server/platform/redis/keys";
import { LUA_HELPERS, luaRecordReader, luaString } from "~/server/platform/redis/lua";

// Short-lived records in Redis: a hash per record that expires a fixed time after creation,
// whatever its state, with a status that moves only through atomic check-and-change scripts, and
// an optional per-user index (a set of ids that lives as long as its longest-lived member). QR
// handoffs (handoff/store.ts) and new-device approvals (approvals/store.ts) are built on it: each
// domain says which transitions it allows and which secrets bind a record to whom; the mechanics
// (create with TTL, read for a viewer, transition, guesses with an attempt counter, single-use
// take, secret binding, per-user list and bulk update) are written here once.
//
// Every operation answers with the same outcome union: `{ ok: true, record }`, or `{ ok: false, why }`
// where `why` is
//   gone                no such record: expired, or never existed (Redis cannot tell them apart);
//   forbidden           it exists but is not the caller's (a secret, token or owner did not match);
//   wrong_state         the caller's, but its status does not allow this (the record is attached);
//   wrong_code          a guess that did not match; counted (record attached, attempts included);
//   attempts_exhausted  the guess that used up the last attempt; the record moved to its failed state.
//
// Key layout (platform/redis/keys.ts): a record's id starts with a hash tag, its user's when the
// user is known at creation (approvals, QR offers), so a script that writes a record and its user's
// index runs on one Redis Cluster slot; a record created before its user is known (a sign-in QR)
// has a tag of its own, and is added to the user's index by a second, index-only step after the
// change that binds it. Listing and bulk updates read the index, then each record on its own.
//
// Values compared against a record are never empty: an empty expected value matches nothing, so
// "the caller has no secret" can never match a field that is missing or empty.

/** field -> the value it must have. */
export type Match = Record<string, string>;

export interface ShortLivedRecord<S extends string, F extends string> {
  id: string;
  status: S;
  createdAt: Date;
  expiresAt: Date;
  /** Guesses counted by `transition` with a `guess` (0 when none). */
  attempts: number;
  /** The domain's own fields, '' when not set. */
  fields: Record<F, string>;
}

export type Outcome<R> =
  { ok: true; record: R } | { ok: false; why: "gone" | "forbidden" } | { ok: false; why: "wrong_state" | "wrong_code" | "attempts_exhausted"; record: R };

/** The same outcome with its record turned into the domain's type. */
export function mapOutcome<A, B>(outcome: Outcome<A>, to: (record: A) => B): Outcome<B> {
  if (outcome.ok) return { ok: true, record: to(outcome.record) };
  if ("record" in outcome) return { ok: false, why: outcome.why, record: to(outcome.record) };
  return outcome;
}

/** For an id or token that cannot name any record. */
export const GONE = { ok: false, why: "gone" } as const satisfies Outcome<never>;

export interface Transition<S extends string> {
  /** Every one must match, or the answer is `forbidden` (the record is not the caller's). */
  require?: Match;
  /** The change is allowed when one rule matches: the status is one of `from` and every `where` matches. */
  rules: { from: readonly S[]; where?: Match }[];
  /** What is written when the change happens (status included, when it changes). */
  set: Partial<Record<string, string>> & { status?: S };
  /**
   * A guess checked after the rules: `field` must equal `value`. A wrong guess counts one attempt
   * (`wrong_code`); the one that reaches `maxAttempts` writes `exhausted` (`attempts_exhausted`).
   */
  guess?: { field: string; value: string; maxAttempts: number; exhausted: Partial<Record<string, string>> & { status: S } };
  /** Adds the record to this user's index once the change happened. */
  indexFor?: string;
}

// Argument decoding shared by the scripts below: counts, then that many values (or pairs). And
// announcing a change (the record's topic on the live channel, live/hub.ts), from the script
// that makes it, so a waiting page cannot miss it.
const announcer = (channel: string) => `
local function announce(id) redis.call('PUBLISH', ${luaString(channel)}, ${luaString(recordTopic(""))} .. id) end
`;
const LUA_ARGS = `
local at = 1
local function nextArg() local v = ARGV[at]; at = at + 1; return v end
local function readList()
  local out = {}
  for _ = 1, tonumber(nextArg()) do out[#out + 1] = nextArg() end
  return out
end
local function readPairs()
  local out = {}
  for _ = 1, tonumber(nextArg()) do
    local field = nextArg()
    local value = nextArg()
    out[#out + 1] = { field, value }
  end
  return out
end
local function matches(key, conds)
  for _, c in ipairs(conds) do
    if c[2] == '' or str(redis.call('HGET', key, c[1])) ~= c[2] then return false end
  end
  return true
end
local function setAll(key, conds)
  if #conds == 0 then return end
  local args = {}
  for _, c in ipairs(conds) do
    args[#args + 1] = c[1]
    args[#args + 1] = c[2]
  end
  redis.call('HSET', key, unpack(args))
end
local function contains(list, value)
  for _, v in ipairs(list) do if v == value then return true end end
  return false
end
-- The index lives as long as its longest-lived member: adding a record with less time left never shortens it.
local function addToIndex(index, key, id)
  redis.call('SADD', index, id)
  local ttl = redis.call('PTTL', key)
  if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
end
`;

// KEYS: record[, index (same slot)]. ARGV: id, ttl ms, then field/value pairs.
const CREATE = `${LUA_HELPERS}${LUA_ARGS}
local args = {}
for i = 3, #ARGV do args[#args + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(args))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
if KEYS[2] then addToIndex(KEYS[2], KEYS[1], ARGV[1]) end
return 1
`;

// KEYS: index. ARGV: id, the record's ttl ms. For a record in another slot than its user's index.
const ADD_TO_INDEX = `
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) end
return 1
`;

// KEYS: record. ARGV: viewer pairs (any one matching is enough).
const readScript = (reader: string) => `${LUA_HELPERS}${LUA_ARGS}${reader}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { 'gone' } end
for _, c in ipairs(readPairs()) do
  if c[2] ~= '' and str(redis.call('HGET', key, c[1])) == c[2] then return answer('ok', key) end
end
return { 'forbidden' }
`;

// KEYS: record[, index (same slot)]. ARGV: id, require pairs, rule count, each rule (from list, where
// pairs), set pairs, guess field ('' = none), guess value, max attempts, exhausted pairs.
const transitionScript = (reader: string, announce: string) => `${LUA_HELPERS}${LUA_ARGS}${reader}${announce}
local key, index = KEYS[1], KEYS[2]
local id = nextArg()
local needs = readPairs()
local rules = {}
for _ = 1, tonumber(nextArg()) do
  local from = readList()
  local where = readPairs()
  rules[#rules + 1] = { from, where }
end
local set = readPairs()
local guessField, guessValue, maxAttempts = nextArg(), nextArg(), tonumber(nextArg())
local exhausted = readPairs()
if redis.call('EXISTS', key) == 0 then return { 'gone' } end
if not matches(key, needs) then return { 'forbidden' } end
local status = str(redis.call('HGET', key, 'status'))
local allowed = false
for _, rule in ipairs(rules) do
  if contains(rule[1], status) and matches(key, rule[2]) then
    allowed = true
    break
  end
end
if not allowed then return answer('wrong_state', key) end
if guessField ~= '' and str(redis.call('HGET', key, guessField)) ~= guessValue then
  local attempts = redis.call('HINCRBY', key, 'attempts', 1)
  if attempts >= maxAttempts then
    setAll(key, exhausted)
    announce(id)
    return answer('attempts_exhausted', key)
  end
  return answer('wrong_code', key)
end
setAll(key, set)
if index then addToIndex(index, key, id) end
if #set > 0 then announce(id) end
return answer('ok', key)
`;

// KEYS: record. Returns { 'ok', fields... }, or { 'gone' }.
const listedScript = (reader: string) => `${LUA_HELPERS}${reader}
if redis.call('EXISTS', KEYS[1]) == 0 then return { 'gone' } end
return answer('ok', KEYS[1])
`;

// KEYS: record. ARGV: id, from list, where pairs, set pairs. Returns 'changed', 'kept' or 'gone'.
const updateOneScript = (announce: string) => `${LUA_HELPERS}${LUA_ARGS}${announce}
local id = nextArg()
local from = readList()
local where = readPairs()
local set = readPairs()
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return 'gone' end
if contains(from, str(redis.call('HGET', key, 'status'))) and matches(key, where) then
  setAll(key, set)
  announce(id)
  return 'changed'
end
return 'kept'
`;

const BASE_FIELDS = ["status", "createdAt", "expiresAt", "attempts"] as const;

const list = (values: readonly string[]) => [String(values.length), ...values];
const pairs = (match: Partial<Record<string, string>> = {}) => {
  const entries = Object.entries(match).filter((e): e is [string, string] => e[1] !== undefined);
  return [String(entries.length), ...entries.flat()];
};

export interface ShortLivedRecordsOptions<F extends string> {
  /** Every key's prefix (REDIS_PREFIX). */
  prefix: string;
  /** The record's key is `<prefix><kind>:<id>`. */
  kind: string;
  /** The per-user index's key is `<prefix>user:<userId>:<index>`. */
  index: string;
  /** The domain's fields read back with every record (status, times and attempts always are). */
  fields: readonly F[];
  /** How long a record lives after creation, whatever its state. */
  ttlMs: number;
  /** The clock createdAt and expiresAt are taken from (tests inject one). */
  now?: () => number;
}

export class ShortLivedRecords<S extends string, F extends string> {
  private readonly scripts;
  private readonly redis: Redis;
  private readonly now: () => number;

  constructor(
    redis: Redis,
    private readonly options: ShortLivedRecordsOptions<F>,
  ) {
    this.now = options.now ?? Date.now;
    const reader = luaRecordReader([...BASE_FIELDS, ...options.fields]);
    const announce = announcer(liveChannel(options.prefix));
    this.scripts = {
      create: redis.createScript<number>(CREATE),
      read: redis.createScript<unknown[]>(readScript(reader)),
      transition: redis.createScript<unknown[]>(transitionScript(reader, announce)),
      listed: redis.createScript<unknown[]>(listedScript(reader)),
      updateOne: redis.createScript<string>(updateOneScript(announce)),
      addToIndex: redis.createScript<number>(ADD_TO_INDEX),
    };
    this.redis = redis;
  }

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  key(id: string): string {
    return idKey(this.options.prefix, this.options.kind, id);
  }

  indexKey(userId: string): string {
    return userKey(this.options.prefix, userId, this.options.index);
  }

  /**
   * A fresh random record id (callers that derive a field from the id take one first): with the
   * hash tag of `forUser` when the record is that user's from the start, else a random tag.
   */
  static newId(forUser?: string): string {
    return taggedId(forUser === undefined ? undefined : userTag(forUser));
  }

  /** The user's index, when it is in the record's slot (one script can write both). */
  private indexBeside(id: string, userId: string | undefined): string[] {
    return userId !== undefined && tagOf(id) === userTag(userId) ? [this.indexKey(userId)] : [];
  }

  /** Writes a new record that expires `ttlMs` from now; with `indexFor`, lists it in that user's index. */
  async create(input: { id?: string; status: S; fields: Partial<Record<string, string>>; indexFor?: string }) {
    const id = input.id ?? ShortLivedRecords.newId(input.indexFor);
    const now = this.now();
    const expiresAt = now + this.options.ttlMs;
    const fields = { ...input.fields, status: input.status, createdAt: String(now), expiresAt: String(expiresAt) };
    const beside = this.indexBeside(id, input.indexFor);
    await this.scripts.create.exec([this.key(id), ...beside], [id, String(this.options.ttlMs), ...pairs(fields).slice(1)]);
    if (input.indexFor !== undefined && beside.length === 0)
      await this.scripts.addToIndex.exec([this.indexKey(input.indexFor)], [id, String(this.options.ttlMs)]);
    return { id, createdAt: new Date(now), expiresAt: new Date(expiresAt) };
  }

  /** The record, for a viewer who holds any one of `anyOf` (e.g. the browser secret, or the owning user). */
  async read(id: string, anyOf: Match[]): Promise<Outcome<ShortLivedRecord<S, F>>> {
    const viewers = anyOf.flatMap((m) => Object.entries(m));
    return this.parse(id, await this.scripts.read.exec([this.key(id)], [String(viewers.length), ...viewers.flat()]));
  }

  /** One atomic check-and-change (see Transition). */
  async transition(id: string, t: Transition<S>): Promise<Outcome<ShortLivedRecord<S, F>>> {
    const args = [
      id,
      ...pairs(t.require),
      String(t.rules.length),
      ...t.rules.flatMap((rule) => [...list(rule.from), ...pairs(rule.where)]),
      ...pairs(t.set),
      t.guess?.field ?? "",
      t.guess?.value ?? "",
      String(t.guess?.maxAttempts ?? 0),
      ...pairs(t.guess?.exhausted),
    ];
    const beside = this.indexBeside(id, t.indexFor);
    const outcome = this.parse(id, await this.scripts.transition.exec([this.key(id), ...beside], args));
    // Bound to a user whose index is in another slot: listed there right after (what a lockout cancels).
    if (outcome.ok && t.indexFor !== undefined && beside.length === 0) {
      const ttl = Math.max(1, outcome.record.expiresAt.getTime() - this.now());
      await this.scripts.addToIndex.exec([this.indexKey(t.indexFor)], [id, String(ttl)]);
    }
    return outcome;
  }

  /**
   * Single use: only the holder of `require` (a secret's hash), only from `from`, and exactly one
   * caller ever moves it to `to`.
   */
  take(id: string, t: { require: Match; from: S; to: S }): Promise<Outcome<ShortLivedRecord<S, F>>> {
    return this.transition(id, { require: t.require, rules: [{ from: [t.from] }], set: { status: t.to } });
  }

  /**
   * Binds the record to whoever comes first: from `from` it moves to `to` and `field` takes
   * `value`; the same binder again (same value, already in `to`) is idempotent; anyone else is
   * `wrong_state`. `set` adds fields written with the binding.
   */
  bind(
    id: string,
    t: { require?: Match; field: string; value: string; from: S; to: S; set?: Partial<Record<string, string>>; indexFor?: string },
  ): Promise<Outcome<ShortLivedRecord<S, F>>> {
    return this.transition(id, {
      require: t.require,
      rules: [{ from: [t.from] }, { from: [t.to], where: { [t.field]: t.value } }],
      set: { ...t.set, status: t.to, [t.field]: t.value },
      indexFor: t.indexFor,
    });
  }

  /** Every record of the user's index that still exists, in any state. */
  async listFor(userId: string): Promise<ShortLivedRecord<S, F>[]> {
    const ids = await this.members(userId);
    const answers = await Promise.all(ids.map((id) => this.scripts.listed.exec([this.key(id)], [])));
    await this.forget(userId, ids, (i) => answers[i]![0] === "gone");
    return ids.flatMap((id, i) => (answers[i]![0] === "ok" ? [this.toRecord(id, answers[i]!.slice(1))] : []));
  }

  /** Changes every record of the user's index whose status is one of `from` (and that matches `where`); returns their ids. */
  async updateAllFor(userId: string, t: { from: readonly S[]; where?: Match; set: Partial<Record<string, string>> & { status?: S } }): Promise<string[]> {
    const ids = await this.members(userId);
    const args = [...list(t.from), ...pairs(t.where), ...pairs(t.set)];
    const answers = await Promise.all(ids.map((id) => this.scripts.updateOne.exec([this.key(id)], [id, ...args])));
    await this.forget(userId, ids, (i) => answers[i] === "gone");
    return ids.filter((_, i) => answers[i] === "changed");
  }

  /** The ids in the user's index (each record is then read or changed on its own: they may be in other slots). */
  private async members(userId: string): Promise<string[]> {
    return (await this.redis.smembers(this.indexKey(userId))).map(String);
  }

  /** Ids whose record expired leave the index. */
  private async forget(userId: string, ids: string[], gone: (i: number) => boolean): Promise<void> {
    const dead = ids.filter((_, i) => gone(i));
    if (dead.length) await this.redis.srem(this.indexKey(userId), dead[0]!, ...dead.slice(1));
  }

  private toRecord(id: string, values: unknown[]): ShortLivedRecord<S, F> {
    const text = (i: number) => String(values[i] ?? "");
    const fields = Object.fromEntries(this.options.fields.map((f, i) => [f, text(BASE_FIELDS.length + i)])) as Record<F, string>;
    return {
      id,
      status: text(0) as S,
      createdAt: new Date(Number(text(1))),
      expiresAt: new Date(Number(text(2))),
      attempts: Number(text(3)) || 0,
      fields,
    };
  }

  private parse(id: string, result: unknown[]): Outcome<ShortLivedRecord<S, F>> {
    const [tag, ...values] = result;
    switch (tag) {
      case "ok":
        return { ok: true, record: this.toRecord(id, values) };
      case "wrong_state":
      case "wrong_code":
      case "attempts_exhausted":
        return { ok: false, why: tag, record: this.toRecord(id, values) };
      case "forbidden":
        return { ok: false, why: "forbidden" };
      default:
        return GONE;
    }
  }
}
