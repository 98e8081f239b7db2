import "server-only";
import { Redis, type Requester } from "@upstash/redis";
import { env } from "~/env";
import type { PushListener, PushSubscription } from "~/server/platform/redis/push";
import { clusterRunner, embeddedRunner, tcpRunner } from "~/server/platform/redis/runners";
import { createRequester, type CommandRunner } from "~/server/platform/redis/transports";

type RedisKind = "upstash" | "tcp" | "cluster" | "embedded";

export interface RedisHandle {
  redis: Redis;
  /**
   * The same connection without @upstash/redis's automatic deserialization, which tries
   * JSON.parse on every string of every answer and throws (slowly) on ids, emails and IPs: for
   * the hot paths whose answers are plain strings and numbers (sessions).
   */
  raw: Redis;
  kind: RedisKind;
  /** Prefix of every key this app writes, so several apps or test runs can share one Redis. */
  prefix: string;
  /** Pub/sub on a connection of its own, closed with the handle; absent on Upstash (REST). */
  subscribe?(channel: string, listener: PushListener): PushSubscription;
  close(): Promise<void>;
}

/** @upstash/redis takes options only with a URL; over our own requester they are set here. */
class RawRedis extends Redis {
  constructor(requester: Requester) {
    super(requester);
    this.opts = { ...this.opts, automaticDeserialization: false };
  }
}

export async function createRedis(config: {
  upstashUrl?: string;
  upstashToken?: string;
  redisUrl?: string;
  /** host:port of some Redis Cluster nodes (REDIS_CLUSTER_NODES). */
  clusterNodes?: readonly string[];
  prefix: string;
  /** Tests wrap the runner (e.g. to refuse a script whose keys span hash slots, as a cluster would). */
  wrapRunner?: (runner: CommandRunner) => CommandRunner;
}): Promise<RedisHandle> {
  if (config.upstashUrl) {
    const redis = new Redis({ url: config.upstashUrl, token: config.upstashToken ?? "", enableTelemetry: false });
    const raw = new Redis({ url: config.upstashUrl, token: config.upstashToken ?? "", enableTelemetry: false, automaticDeserialization: false });
    return { redis, raw, kind: "upstash", prefix: config.prefix, close: async () => undefined };
  }
  const kind: RedisKind = config.clusterNodes?.length ? "cluster" : config.redisUrl ? "tcp" : "embedded";
  const runner = kind === "cluster" ? await clusterRunner(config.clusterNodes!) : config.redisUrl ? await tcpRunner(config.redisUrl) : await embeddedRunner();
  const requester = createRequester(config.wrapRunner ? config.wrapRunner(runner) : runner);
  const subscriptions = new Set<PushSubscription>();
  return {
    redis: new Redis(requester),
    raw: new RawRedis(requester),
    kind,
    prefix: config.prefix,
    subscribe(channel, listener) {
      const subscription = runner.subscribe!(channel, listener);
      subscriptions.add(subscription);
      return {
        close: async () => {
          subscriptions.delete(subscription);
          await subscription.close();
        },
      };
    },
    close: async () => {
      await Promise.all([...subscriptions].map((s) => s.close()));
      await requester.close();
    },
  };
}

// One client per process, kept on globalThis so that Next.js's separate module graphs (route
// handlers, server components) and dev-mode reloads share it: the embedded store must be one.
const globalForRedis = globalThis as unknown as { handoffRedis?: Promise<RedisHandle> };

/** Connects lazily on first use, never at import (so `next build` needs no Redis). */
export function getRedis(): Promise<RedisHandle> {
  globalForRedis.handoffRedis ??= (() => {
    const e = env();
    const handle = createRedis({
      upstashUrl: e.UPSTASH_REDIS_REST_URL,
      upstashToken: e.UPSTASH_REDIS_REST_TOKEN,
      redisUrl: e.REDIS_URL,
      clusterNodes: e.REDIS_CLUSTER_NODES,
      prefix: e.REDIS_PREFIX,
    });
    handle.catch(() => {
      globalForRedis.handoffRedis = undefined;
    });
    return handle;
  })();
  return globalForRedis.handoffRedis;
}
