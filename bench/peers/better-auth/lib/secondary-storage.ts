import type { BetterAuthOptions } from "better-auth";
import { createClient } from "redis";

type SecondaryStorage = NonNullable<BetterAuthOptions["secondaryStorage"]>;

/**
 * better-auth's documented way to keep sessions in Redis: its `secondaryStorage` interface, here
 * over node-redis (one TCP connection, connected on first use so `next build` never connects).
 * Every key carries `prefix`, so the peer shares Handoff's bench Redis without collisions.
 */
export function redisSecondaryStorage(url: string, prefix: string): SecondaryStorage {
  let connecting: ReturnType<typeof connect> | undefined;
  const connect = () => createClient({ url, RESP: 2 }).connect();
  const redis = () => (connecting ??= connect());
  const seconds = (ttl: number) => Math.max(1, Math.floor(ttl));
  return {
    get: async (key) => (await redis()).get(prefix + key),
    getAndDelete: async (key) => (await redis()).getDel(prefix + key),
    // One round trip: the counter gets its TTL when created, never extended (EXPIRE NX, Redis 7).
    increment: async (key, ttl) => {
      const [count] = await (
        await redis()
      )
        .multi()
        .incr(prefix + key)
        .expire(prefix + key, seconds(ttl), "NX")
        .exec();
      return Number(count);
    },
    set: async (key, value, ttl) => {
      const client = await redis();
      await (ttl && ttl > 0 ? client.set(prefix + key, value, { EX: seconds(ttl) }) : client.set(prefix + key, value));
    },
    delete: async (key) => {
      await (await redis()).del(prefix + key);
    },
  };
}
