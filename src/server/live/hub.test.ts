import crypto from "node:crypto";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ShortLivedRecords } from "~/server/platform/short-lived-records";
import { createDb } from "~/server/platform/db";
import { createRedis, type RedisHandle } from "~/server/platform/redis";
import { liveChannel, sessionKey, taggedId, userTag } from "~/server/platform/redis/keys";
import type { CommandRunner } from "~/server/platform/redis/transports";
import { createServices, type Services } from "~/server/services";
import { deleteKeys, onCluster, testEnv, uniquePrefix } from "~/test/harness";
import { refuseCrossSlot } from "~/test/slot-check";
import { watchFeed, watchState, type FeedEvent } from "~/server/live/watch";

// One reader per instance (live/hub.ts): open pages cost no Redis command while nothing happens,
// still hear of every event at once, and catch up on what was published while the reader was
// disconnected. Each test counts the commands its own connection sends.

const until = async (check: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
};

function counting(inner: CommandRunner, counter: { commands: number }): CommandRunner {
  return {
    run: (command) => {
      counter.commands++;
      return inner.run(command);
    },
    runAtomically: (commands) => {
      counter.commands += commands.length;
      return inner.runAtomically(commands);
    },
    close: () => inner.close(),
  };
}

type Take = AsyncGenerator<[string, FeedEvent, unknown], void>;
const take = async (feed: Take) => {
  const { value, done } = await feed.next();
  return done ? undefined : value[1];
};

/** Closes the hub's subscription connection from the Redis side (every node, on a cluster). */
async function killSubscriber(prefix: string) {
  const nodes = onCluster ? process.env.TEST_REDIS_CLUSTER_NODES!.split(",").map((n) => `redis://${n}`) : [process.env.TEST_REDIS_URL!];
  let killed = 0;
  for (const url of nodes) {
    const admin = createClient({ url });
    await admin.connect();
    const list = await admin.sendCommand<string>(["CLIENT", "LIST"]);
    for (const line of list.split("\n")) {
      const fields = Object.fromEntries(line.split(" ").map((f) => f.split("=") as [string, string]));
      if (fields.name === `handoff-live:${liveChannel(prefix)}`) {
        await admin.sendCommand(["CLIENT", "KILL", "ID", fields.id!]);
        killed++;
      }
    }
    admin.destroy();
  }
  return killed;
}

describe.each([
  { store: "real Redis", redisUrl: undefined as string | undefined },
  { store: "the embedded Redis", redisUrl: "" },
])("live hub on $store", ({ redisUrl }) => {
  const counter = { commands: 0 };
  let services: Services;
  let redis: RedisHandle;
  let closeDb: () => Promise<void>;
  const real = redisUrl === undefined;

  beforeAll(async () => {
    const e = testEnv({ REDIS_PREFIX: uniquePrefix(), ...(real ? {} : { REDIS_URL: "" }) });
    const db = await createDb({ databaseUrl: e.DATABASE_URL, dataDir: e.DATA_DIR, poolSize: e.DATABASE_POOL_SIZE });
    closeDb = db.close;
    redis = await createRedis({
      redisUrl: e.REDIS_URL,
      clusterNodes: e.REDIS_CLUSTER_NODES,
      prefix: e.REDIS_PREFIX,
      wrapRunner: (runner) => counting(refuseCrossSlot(runner), counter),
    });
    services = createServices(db.db, redis, e);
  });
  afterAll(async () => {
    await deleteKeys(redis);
    await redis.close();
    await closeDb();
  });

  async function page(userId = crypto.randomUUID()) {
    const sessionId = taggedId(userTag(userId));
    await redis.raw.set(sessionKey(redis.prefix, sessionId), "1", { px: 3_600_000 });
    return { userId, sessionId };
  }

  it("200 open pages cost no Redis command while nothing happens, and a page hears its event at once", async () => {
    const controller = new AbortController();
    const users = Array.from({ length: 20 }, () => crypto.randomUUID());
    const pages = await Promise.all(Array.from({ length: 200 }, (_, i) => page(users[i % 20])));
    // Polling every 50 ms these pages would send 4,000 commands a second.
    const feeds = pages.map((p) =>
      watchFeed(services.events, {
        ...p,
        live: services.live,
        streams: services.openStreams,
        ip: "203.0.113.1",
        pollMs: 50,
        signal: controller.signal,
        whenSessionEnds: "tell",
      }),
    );
    const first = feeds.map((feed) => take(feed as Take));
    await until(() => services.live.live && services.live.listeners === 200);
    // Let every page finish its first read (and the catch-up read when the hub came up).
    await new Promise((r) => setTimeout(r, 500));
    counter.commands = 0;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(counter.commands).toBe(0);

    const target = pages[7]!;
    const sent = Date.now();
    await services.events.publish(target.userId, { type: "revoked", sessionIds: [target.sessionId], reason: "revoked" });
    await redis.raw.del(sessionKey(redis.prefix, target.sessionId));
    expect(await first[7]).toMatchObject({ type: "revoked", sessionIds: [target.sessionId] });
    expect(Date.now() - sent).toBeLessThan(1_000);
    // The publish (twice if its script had to be loaded), the delete, and one read by each of the
    // user's 10 pages: nothing for the 190 others.
    expect(counter.commands).toBeLessThanOrEqual(2 + 1 + 10);

    // A closed stream (abort, and return() on the one suspended at its yield) stops listening.
    controller.abort();
    await Promise.all(first);
    await Promise.all(feeds.map((feed) => feed.return()));
    expect(services.live.listeners).toBe(0);
  });

  it("a waiting page hears of its record's change at once", async () => {
    const records = new ShortLivedRecords<"pending" | "approved", "secret">(redis.redis, {
      prefix: redis.prefix,
      kind: "test-record",
      index: "test-records",
      fields: ["secret"],
      ttlMs: 60_000,
    });
    const { id } = await records.create({ status: "pending", fields: { secret: "s" } });
    const read = async () => {
      const outcome = await records.read(id, [{ secret: "s" }]);
      if (!outcome.ok) throw new Error(outcome.why);
      return { status: outcome.record.status, expiresAt: outcome.record.expiresAt };
    };
    const watch = watchState({
      read,
      final: new Set(["approved"]),
      recordId: id,
      live: services.live,
      streams: services.openStreams,
      owner: { ip: "203.0.113.1" },
      pollMs: 60_000,
    });
    expect((await watch.next()).value).toMatchObject({ status: "pending" });
    const next = watch.next();
    await until(() => services.live.live);
    const sent = Date.now();
    await records.transition(id, { rules: [{ from: ["pending"] }], set: { status: "approved" } });
    expect((await next).value).toMatchObject({ status: "approved" });
    expect(Date.now() - sent).toBeLessThan(1_000);
    expect((await watch.next()).done).toBe(true);
  });

  it.runIf(real)("what is published while the reader is disconnected arrives when it is back", async () => {
    const p = await page();
    const controller = new AbortController();
    // Polling once a minute: only the hub can bring the event in time.
    const feed = watchFeed(services.events, {
      ...p,
      live: services.live,
      streams: services.openStreams,
      ip: "203.0.113.1",
      pollMs: 60_000,
      signal: controller.signal,
      whenSessionEnds: "tell",
    });
    const event = take(feed as Take);
    await until(() => services.live.live && services.live.listeners === 1);
    await new Promise((r) => setTimeout(r, 200));

    expect(await killSubscriber(redis.prefix)).toBe(1);
    await until(() => !services.live.live);
    await services.events.publish(p.userId, { type: "device_updated", deviceId: "while-away" });
    expect(services.live.live).toBe(false);
    await until(() => services.live.live);
    expect(await event).toMatchObject({ type: "device_updated", deviceId: "while-away" });
    controller.abort();
    await feed.return();
  });
});
