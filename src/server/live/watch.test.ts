import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices } from "~/test/harness";
import { sessionKey, taggedId, userTag } from "~/server/platform/redis/keys";
import { LiveHub } from "~/server/live/hub";
import { OpenStreams } from "~/server/live/open-streams";
import { watchFeed, watchState, type FeedEvent } from "~/server/live/watch";

// The loops every subscription runs on, against the real live feed in Redis.

const POLL_MS = 40;

describe("watchFeed (real Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  beforeAll(async () => {
    t = await createTestServices();
  });
  afterAll(() => t.close());

  /** A user with one live session (its key is what the feed's read checks), expiring in `expiresInMs` if given. */
  async function page(expiresInMs?: number) {
    const userId = crypto.randomUUID();
    const sessionId = taggedId(userTag(userId)); // a session id carries its user's hash tag
    const key = sessionKey(t.env.REDIS_PREFIX, sessionId);
    await (expiresInMs ? t.services.redis.raw.set(key, "1", { px: expiresInMs }) : t.services.redis.raw.set(key, "1"));
    return { userId, sessionId, end: () => t.services.redis.raw.del(sessionKey(t.env.REDIS_PREFIX, sessionId)) };
  }

  async function take(feed: AsyncGenerator<[string, FeedEvent, unknown], void>) {
    const { value, done } = await feed.next();
    return done ? undefined : { id: value[0], event: value[1] };
  }

  it("starts after a given position (replaying what came since), or at the feed's end; ids are positions", async () => {
    const { userId, sessionId } = await page();
    const before = await t.services.events.publish(userId, { type: "device_updated", deviceId: "d0" });
    const missed = await t.services.events.publish(userId, { type: "device_updated", deviceId: "d1" });

    const replay = watchFeed(t.services.events, {
      userId,
      sessionId,
      lastEventId: String(before),
      live: t.services.live,
      streams: t.services.openStreams,
      ip: "203.0.113.1",
      pollMs: POLL_MS,
      whenSessionEnds: "close",
    });
    expect(await take(replay)).toMatchObject({ id: String(missed), event: { type: "device_updated", deviceId: "d1", seq: missed } });
    await replay.return();

    const fromStart = watchFeed(t.services.events, {
      userId,
      sessionId,
      lastEventId: "0",
      live: t.services.live,
      streams: t.services.openStreams,
      ip: "203.0.113.1",
      pollMs: POLL_MS,
      whenSessionEnds: "close",
    });
    expect((await take(fromStart))?.event).toMatchObject({ deviceId: "d0" });
    await fromStart.return();

    const fromEnd = watchFeed(t.services.events, {
      userId,
      sessionId,
      live: t.services.live,
      streams: t.services.openStreams,
      ip: "203.0.113.1",
      pollMs: POLL_MS,
      whenSessionEnds: "close",
    });
    const coming = take(fromEnd);
    await new Promise((r) => setTimeout(r, 3 * POLL_MS));
    await t.services.events.publish(userId, { type: "device_updated", deviceId: "d2" });
    expect((await coming)?.event).toMatchObject({ deviceId: "d2" });
    await fromEnd.return();
  });

  it("sends only the types asked for, and moves past the others", async () => {
    const { userId, sessionId } = await page();
    const start = await t.services.events.currentSeq(userId);
    await t.services.events.publish(userId, { type: "device_updated", deviceId: "d" });
    const resolved = await t.services.events.publish(userId, { type: "approval_resolved", requestId: "r", status: "denied" });
    const feed = watchFeed(t.services.events, {
      userId,
      sessionId,
      lastEventId: String(start),
      live: t.services.live,
      streams: t.services.openStreams,
      ip: "203.0.113.1",
      pollMs: POLL_MS,
      types: ["approval_requested", "approval_resolved"],
      whenSessionEnds: "close",
    });
    expect(await take(feed)).toMatchObject({ id: String(resolved), event: { type: "approval_resolved", requestId: "r" } });
    await feed.return();
  });

  it("when the session ends: `tell` sends the event that ended it, or a late one, or `expired`; `close` just ends", async () => {
    // The event naming the session arrives with the poll that sees it gone.
    const a = await page();
    const told = watchFeed(t.services.events, {
      ...a,
      live: t.services.live,
      streams: t.services.openStreams,
      ip: "203.0.113.1",
      pollMs: POLL_MS,
      whenSessionEnds: "tell",
    });
    const first = take(told);
    await new Promise((r) => setTimeout(r, 2 * POLL_MS));
    await a.end();
    await t.services.events.publish(a.userId, { type: "revoked", sessionIds: [a.sessionId], reason: "revoked" });
    expect((await first)?.event).toMatchObject({ type: "revoked", reason: "revoked" });
    expect(await take(told)).toBeUndefined();

    // It expires (nothing is published): read again when it is due, and after a short wait for an
    // event naming it, the page is told it expired.
    const b = await page(300);
    const expired = watchFeed(t.services.events, {
      ...b,
      live: t.services.live,
      streams: t.services.openStreams,
      ip: "203.0.113.1",
      pollMs: 60_000,
      whenSessionEnds: "tell",
    });
    const last = take(expired);
    expect((await last)?.event).toMatchObject({ type: "revoked", sessionIds: [b.sessionId], reason: "expired" });
    expect(await take(expired)).toBeUndefined();

    const c = await page(300);
    const closing = watchFeed(t.services.events, {
      ...c,
      live: t.services.live,
      streams: t.services.openStreams,
      ip: "203.0.113.1",
      pollMs: 60_000,
      whenSessionEnds: "close",
    });
    expect(await take(closing)).toBeUndefined();
  });

  it("a closed stream stops polling at once, even in the middle of a long wait", async () => {
    const { userId, sessionId } = await page();
    const controller = new AbortController();
    const feed = watchFeed(t.services.events, {
      userId,
      sessionId,
      live: t.services.live,
      streams: t.services.openStreams,
      ip: "203.0.113.1",
      pollMs: 60_000,
      signal: controller.signal,
      whenSessionEnds: "close",
    });
    const pending = take(feed);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    controller.abort();
    expect(await pending).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("watchState", () => {
  // A hub with no subscription (as on Upstash): pages poll.
  const polling = {
    recordId: "r",
    live: new LiveHub({ prefix: "test:" }),
    streams: new OpenStreams({ perSession: 5, perAddress: 5 }),
    owner: { ip: "203.0.113.1" },
  };

  it("sends the first state and then only changes, and ends after a final one", async () => {
    const states = ["pending", "pending", "scanned", "scanned", "approved", "completed", "never read"];
    let reads = 0;
    const seen: string[] = [];
    for await (const state of watchState({ read: async () => ({ status: states[reads++]! }), final: new Set(["completed"]), ...polling, pollMs: 5 }))
      seen.push(state.status);
    expect(seen).toEqual(["pending", "scanned", "approved", "completed"]);
    expect(reads).toBe(6);
  });

  it("a fingerprint decides what counts as a change", async () => {
    const states = [
      { status: "scanned", ip: null },
      { status: "scanned", ip: "1.2.3.4" },
      { status: "scanned", ip: "1.2.3.4" },
      { status: "denied", ip: "1.2.3.4" },
    ];
    let reads = 0;
    const seen: unknown[] = [];
    const watch = watchState({
      read: async () => states[reads++]!,
      final: new Set(["denied"]),
      fingerprint: (s) => `${s.status}/${s.ip}`,
      ...polling,
      pollMs: 5,
    });
    for await (const state of watch) seen.push(state);
    expect(seen).toEqual([states[0], states[1], states[3]]);
  });

  it("a failing read fails the stream; an abort ends it without another read", async () => {
    const failing = watchState({ read: () => Promise.reject(new Error("not yours")), final: new Set(), ...polling, pollMs: 5 });
    await expect(failing.next()).rejects.toThrow("not yours");

    const controller = new AbortController();
    let reads = 0;
    const waiting = watchState({ read: async () => ({ status: `s${reads++}` }), final: new Set(), ...polling, pollMs: 60_000, signal: controller.signal });
    expect((await waiting.next()).value).toEqual({ status: "s0" });
    const rest = waiting.next();
    controller.abort();
    expect((await rest).done).toBe(true);
    expect(reads).toBe(1);
  });
});
