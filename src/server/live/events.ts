import type { Redis } from "@upstash/redis";
import { z } from "zod";
import { userEvent, type UserEvent } from "~/lib/live-events";
import { metrics } from "~/server/platform/metrics";
import { LUA_HELPERS } from "~/server/platform/redis/lua";
import { LIVE_FEED_LENGTH, LIVE_FEED_TTL_MS } from "~/server/policy";
import { isUsersId, liveChannel, sessionKey, userKey, userTopic } from "~/server/platform/redis/keys";

// A short per-user feed of what happened to the user's sessions, kept in Redis so every app
// instance sees it: a sorted set of JSON events scored by a per-user sequence number. The script
// that adds an event also publishes the user's topic (./hub.ts), and open pages (tRPC
// subscriptions over SSE) read the feed when told; the same read tells whether the page's own
// session is still alive, and how long it has left.

// The events themselves (type, revoke reason, approval status as z.enums) are defined once for
// server and pages in src/lib/live-events.ts.

export type UserEventInput = UserEvent extends infer E ? (E extends unknown ? Omit<E, "at"> : never) : never;

// KEYS: feed, sequence. ARGV: live channel, the user's topic, then each event's JSON without seq,
// in order. Returns the last new sequence number. One notice on the topic for all of them.
const PUBLISH = `
local seq
for i = 3, #ARGV do
  seq = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], seq, string.sub(ARGV[i], 1, -2) .. ',"seq":' .. seq .. '}')
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -${LIVE_FEED_LENGTH + 1})
redis.call('PEXPIRE', KEYS[1], ${LIVE_FEED_TTL_MS})
redis.call('PEXPIRE', KEYS[2], ${LIVE_FEED_TTL_MS})
redis.call('PUBLISH', ARGV[1], ARGV[2])
return seq
`;

// KEYS: feed, sequence[, session] (a session of another user is not given: it is not alive for this
// feed). ARGV: after seq. Returns { the session's PTTL (-2: gone, -1: no expiry), last seq, events... }.
const POLL = `${LUA_HELPERS}
local ttl = -2
if KEYS[3] then ttl = redis.call('PTTL', KEYS[3]) end
local seq = tonumber(str(redis.call('GET', KEYS[2])) or '0')
local out = { ttl, seq }
if seq > tonumber(ARGV[1]) then
  for _, e in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')) do out[#out + 1] = e end
end
return reply(out)
`;

export class UserEventFeed {
  private readonly publishScript;
  private readonly pollScript;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.publishScript = redis.createScript<number>(PUBLISH);
    this.pollScript = redis.createScript<unknown[]>(POLL);
  }

  private keys(userId: string) {
    return [userKey(this.prefix, userId, "events"), userKey(this.prefix, userId, "events:seq")];
  }

  async publish(userId: string, event: UserEventInput): Promise<number> {
    return this.publishAll(userId, [event]);
  }

  /** Several events, in order, in one round trip (pages are woken once). Returns the last one's sequence number. */
  async publishAll(userId: string, events: readonly UserEventInput[]): Promise<number> {
    if (events.length === 0) return this.currentSeq(userId);
    const at = new Date().toISOString();
    for (const event of events)
      if (event.type === "revoked" || event.type === "locked_out")
        metrics().revocations.inc({ reason: event.type === "revoked" ? event.reason : "lockout" }, event.sessionIds.length);
    const json = events.map((event) => JSON.stringify({ ...event, at }));
    return Number(await this.publishScript.exec(this.keys(userId), [liveChannel(this.prefix), userTopic(userId), ...json]));
  }

  async currentSeq(userId: string): Promise<number> {
    return Number((await this.redis.get<string | number>(this.keys(userId)[1]!)) ?? 0);
  }

  /**
   * Events after `afterSeq`, whether the watching session still exists and the time it has left
   * (`ttlMs`, null when it does not expire on its own). One round trip.
   */
  async poll(
    userId: string,
    sessionId: string,
    afterSeq: number,
  ): Promise<{ alive: boolean; ttlMs: number | null; seq: number; events: (UserEvent & { seq: number })[] }> {
    const keys = this.keys(userId);
    if (isUsersId(sessionId, userId)) keys.push(sessionKey(this.prefix, sessionId));
    const [ttl, seq, ...raw] = (await this.pollScript.exec(keys, [String(afterSeq)])) as unknown as [unknown, unknown, ...unknown[]];
    const events: (UserEvent & { seq: number })[] = [];
    for (const item of raw) {
      // @upstash/redis may already have parsed the JSON member.
      const value = typeof item === "string" ? (JSON.parse(item) as unknown) : item;
      const parsed = userEvent.and(z.object({ seq: z.number() })).safeParse(value);
      if (parsed.success) events.push(parsed.data);
    }
    const ttlMs = Number(ttl);
    return { alive: ttlMs !== -2, ttlMs: ttlMs >= 0 ? ttlMs : null, seq: Number(seq), events };
  }
}
