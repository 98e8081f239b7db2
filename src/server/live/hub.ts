import { metrics } from "~/server/platform/metrics";
import type { RedisHandle } from "~/server/platform/redis";
import { liveChannel } from "~/server/platform/redis/keys";
import type { PushSubscription } from "~/server/platform/redis/push";

// One reader of live notifications per app instance, shared by every open page it serves. Writers
// (the user's event feed, short-lived records) PUBLISH a topic name in the same script that
// changes the data; this instance's one subscription hands it to the pages waiting on that topic,
// which then read the data itself: Redis stays the source of truth, pub/sub only says when to
// look. So an idle page costs no Redis command at all, instead of one per poll interval.
//
// Pub/sub drops what is published while the connection is down. So whenever the subscription is
// (re)established every waiting page reads again (the catch-up read), while it is down pages poll
// as they did before, and even while it is up a quiet page reads once per LIVE_QUIET_RECHECK_MS.
// Upstash's REST API holds no connection: there pages always poll, as they do with LIVE_PUSH=false.

export interface WaitTimes {
  /** The longest wait while notifications arrive. */
  quietMs: number;
  /** The wait while they may not (the subscription is down, or there is none). */
  pollMs: number;
}

export class LiveHub {
  private readonly waiting = new Map<string, Set<TopicListener>>();
  private subscription?: PushSubscription;
  private pushing = false;

  constructor(private readonly redis: Pick<RedisHandle, "prefix" | "subscribe">) {}

  /** Whether notifications arrive now (a page may wait for them rather than poll). */
  get live(): boolean {
    return this.pushing;
  }

  /**
   * Starts listening to one topic. Listen before reading the data the topic is about: a
   * notification that arrives during the read is kept, and the next wait returns at once.
   */
  listen(topic: string): TopicListener {
    this.start();
    const listener = new TopicListener(this, topic);
    let set = this.waiting.get(topic);
    if (!set) this.waiting.set(topic, (set = new Set()));
    set.add(listener);
    return listener;
  }

  /** Open listeners (all topics): for tests and metrics. */
  get listeners(): number {
    let count = 0;
    for (const set of this.waiting.values()) count += set.size;
    return count;
  }

  forget(listener: TopicListener): void {
    const set = this.waiting.get(listener.topic);
    set?.delete(listener);
    if (set?.size === 0) this.waiting.delete(listener.topic);
  }

  private start(): void {
    if (this.subscription || !this.redis.subscribe) return;
    this.subscription = this.redis.subscribe(liveChannel(this.redis.prefix), {
      message: (topic) => {
        for (const listener of this.waiting.get(topic) ?? []) listener.notify();
      },
      up: () => this.switchTo(true),
      down: () => this.switchTo(false),
    });
  }

  private switchTo(pushing: boolean): void {
    // Each failed reconnection attempt says `down` again: the pages already poll.
    if (!pushing && !this.pushing) return;
    this.pushing = pushing;
    metrics().livePush.set(pushing ? 1 : 0);
    // Up: what was published while down is read now. Down: every page starts polling now.
    for (const set of this.waiting.values()) for (const listener of set) listener.notify();
  }
}

export class TopicListener {
  private notified = false;
  private wake?: () => void;

  constructor(
    private readonly hub: LiveHub,
    readonly topic: string,
  ) {}

  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  /**
   * Resolves at once when notified since the previous call; otherwise at the next notification,
   * after `quietMs` (notifications arriving) or `pollMs` (not), or when the signal aborts.
   */
  async next(times: WaitTimes, signal?: AbortSignal): Promise<void> {
    if (!this.notified && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, this.hub.live ? times.quietMs : times.pollMs));
        this.wake = done;
        signal?.addEventListener("abort", done, { once: true });
      });
    }
    this.notified = false;
  }

  close(): void {
    this.hub.forget(this);
  }
}

// On globalThis: Next.js's server bundles each load this module, and one Redis handle (shared the
// same way, platform/redis.ts) must still get one subscription per process, not one per bundle.
const globalForLive = globalThis as unknown as { handoffLiveHubs?: WeakMap<object, { push: LiveHub; poll: LiveHub }> };
const hubs = (globalForLive.handoffLiveHubs ??= new WeakMap());

/**
 * The hub of one Redis connection: one subscription per process, however many services share it.
 * Without `push` (LIVE_PUSH=false) a hub that never subscribes: its pages poll.
 */
export function liveHubOf(redis: Pick<RedisHandle, "prefix" | "subscribe">, options: { push: boolean }): LiveHub {
  let pair = hubs.get(redis);
  if (!pair) hubs.set(redis, (pair = { push: new LiveHub(redis), poll: new LiveHub({ prefix: redis.prefix }) }));
  return options.push ? pair.push : pair.poll;
}
