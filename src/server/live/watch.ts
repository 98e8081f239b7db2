import { tracked, type TrackedEnvelope } from "@trpc/server";
import { z } from "zod";
import type { UserEventFeed } from "~/server/live/events";
import type { LiveHub, TopicListener } from "~/server/live/hub";
import type { OpenStreams, StreamOwner } from "~/server/live/open-streams";
import { recordTopic, userTopic } from "~/server/platform/redis/keys";
import { LIVE_LATE_EVENT_WAIT_MS, LIVE_QUIET_RECHECK_MS } from "~/server/policy";

// The loops behind every subscription (SSE), written once. Pages watch either the user's live
// feed (sessions.onEvent, approvals.onRequest) or one record's state (approvals.watch,
// handoff.watch); the loop owns waiting for the next read (a notification from the instance's
// live hub, or the poll interval while there is none), stopping when the stream is closed (abort
// signal), ending at a final state, and sending only what changed. Routers only say what to watch.

/** One event of the user's feed, with its position (what a page passes back as lastEventId). */
export type FeedEvent = Awaited<ReturnType<UserEventFeed["poll"]>>["events"][number];
export type FeedEventType = FeedEvent["type"];

export interface WatchFeedOptions<K extends FeedEventType> {
  userId: string;
  /** The watching page's session: the stream ends when it does. */
  sessionId: string;
  /** A feed position (digits) to start after; without it the stream starts at the feed's end. */
  lastEventId?: string | null;
  /** The instance's live hub: it says when the feed changed. */
  live: LiveHub;
  /** The wait between reads while the hub cannot say (its subscription is down, or Upstash). */
  pollMs: number;
  /** The instance's count of open streams: this one takes a slot of its session and address while it runs. */
  streams: OpenStreams;
  /** The watching page's address (its session is `sessionId`). */
  ip: string;
  signal?: AbortSignal;
  /** Only these event types are sent (all when absent); positions still advance past the others. */
  types?: readonly K[];
  /**
   * When the watching session ends: `close` just ends the stream; `tell` makes sure the last
   * event names it (the one that ended it, or a `revoked` with reason `expired`), so the page
   * knows why it has to leave.
   */
  whenSessionEnds: "close" | "tell";
}

/** A feed subscription's input: `{ lastEventId? }`, a feed position (digits; 0 is the feed's start). */
export const feedPositionInput = z
  .object({
    lastEventId: z
      .string()
      .regex(/^\d{1,15}$/, "lastEventId is a feed position (digits)")
      .nullish(),
  })
  .optional();

const names = (event: FeedEvent, sessionId: string) => "sessionIds" in event && event.sessionIds.includes(sessionId);

/** The user's live feed for one page, each event tracked by its feed position (SSE ids, so a reconnecting client resumes). */
export async function* watchFeed<K extends FeedEventType = FeedEventType>(
  feed: UserEventFeed,
  options: WatchFeedOptions<K>,
): AsyncGenerator<TrackedEnvelope<Extract<FeedEvent, { type: K }>>, void> {
  const { userId, sessionId, signal } = options;
  const wanted = (event: FeedEvent): event is Extract<FeedEvent, { type: K }> => !options.types || options.types.includes(event.type as K);
  const release = options.streams.open({ sessionId, ip: options.ip });
  let listener: TopicListener | undefined;
  try {
    // Listening before the first read: an event published during it is not missed.
    listener = options.live.listen(userTopic(userId));
    let seq = options.lastEventId != null ? Number(options.lastEventId) : await feed.currentSeq(userId);
    while (!signal?.aborted) {
      const polled = await feed.poll(userId, sessionId, seq);
      for (const event of polled.events) if (wanted(event)) yield tracked(String(event.seq), event);
      seq = polled.seq;
      if (!polled.alive) {
        if (options.whenSessionEnds === "close" || polled.events.some((e) => names(e, sessionId))) return;
        // Services end sessions first and tell the feed right after: give that event a moment to
        // arrive, so the page says "revoked" (or why) rather than "expired".
        const lateWaitMs = Math.min(options.pollMs, LIVE_LATE_EVENT_WAIT_MS);
        await listener.next({ quietMs: lateWaitMs, pollMs: lateWaitMs }, signal);
        const late = await feed.poll(userId, sessionId, seq);
        for (const event of late.events) if (wanted(event)) yield tracked(String(event.seq), event);
        seq = late.seq;
        if (late.events.some((e) => names(e, sessionId))) return;
        const expired = { type: "revoked", sessionIds: [sessionId], reason: "expired", at: new Date().toISOString(), seq } as FeedEvent;
        if (wanted(expired)) yield tracked(String(seq), expired);
        return;
      }
      // An expiring session publishes nothing: read again when it is due to expire.
      const quietMs = Math.min(LIVE_QUIET_RECHECK_MS, polled.ttlMs === null ? Infinity : polled.ttlMs + 1);
      await listener.next({ quietMs, pollMs: options.pollMs }, signal);
    }
  } finally {
    listener?.close();
    release();
  }
}

export interface WatchStateOptions<T> {
  /** Reads the current state (it may throw, e.g. NOT_FOUND for someone else's record: the stream fails with it). */
  read: () => Promise<T>;
  /** The state's final values: after sending one of them the stream ends. */
  final: ReadonlySet<string>;
  /** What makes a state worth sending again (default: its status). */
  fingerprint?: (state: T) => string;
  /** The record's id: its changes are announced on the live hub (platform/short-lived-records.ts). */
  recordId: string;
  live: LiveHub;
  /** The wait between reads while the hub cannot say (its subscription is down, or Upstash). */
  pollMs: number;
  /** The instance's count of open streams: this one takes a slot of its owner's while it runs. */
  streams: OpenStreams;
  /** The watching page: its address, and its session when signed in. */
  owner: StreamOwner;
  signal?: AbortSignal;
}

/** One record's state for a waiting page: sent first, then at each change, until a final state. */
export async function* watchState<T extends { status: string; expiresAt?: Date }>(options: WatchStateOptions<T>): AsyncGenerator<T, void> {
  const fingerprint = options.fingerprint ?? ((state: T) => state.status);
  let last: string | null = null;
  const release = options.streams.open(options.owner);
  let listener: TopicListener | undefined;
  try {
    listener = options.live.listen(recordTopic(options.recordId));
    while (!options.signal?.aborted) {
      const state = await options.read();
      const current = fingerprint(state);
      if (current !== last) {
        last = current;
        yield state;
      }
      if (options.final.has(state.status)) return;
      // A record's expiry publishes nothing: read again when it is due.
      const untilExpiry = state.expiresAt ? state.expiresAt.getTime() - Date.now() + 1 : Infinity;
      await listener.next({ quietMs: Math.min(LIVE_QUIET_RECHECK_MS, untilExpiry), pollMs: options.pollMs }, options.signal);
    }
  } finally {
    listener?.close();
    release();
  }
}
