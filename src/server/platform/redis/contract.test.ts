import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeys, onCluster, testRedis, uniquePrefix } from "~/test/harness";
import { createRedis, type RedisHandle } from "~/server/platform/redis";

// The same contract for every transport the app can run on: the real Redis over TCP, and the
// embedded in-memory default. (Upstash REST is Upstash's own, and cannot run here.)
const transports: [string, () => Promise<RedisHandle>][] = [
  [onCluster ? "Redis Cluster" : "tcp (real Redis)", () => createRedis({ ...testRedis(), prefix: uniquePrefix() })],
  ["embedded (in-memory)", () => createRedis({ prefix: uniquePrefix() })],
];

describe.each(transports)("Redis contract: %s", (_name, connect) => {
  let handle: RedisHandle;
  const key = (k: string) => `${handle.prefix}${k}`;

  beforeAll(async () => {
    handle = await connect();
  });
  afterAll(async () => {
    await deleteKeys(handle);
    await handle.close();
  });

  it("strings with expiry, GETDEL, and values that look like numbers", async () => {
    const { redis } = handle;
    expect(await redis.set(key("s"), "hello", { ex: 100 })).toBe("OK");
    expect(await redis.get(key("s"))).toBe("hello");
    const ttl = await redis.ttl(key("s"));
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.set(key("nx"), "1", { nx: true })).toBe("OK");
    expect(await redis.set(key("nx"), "2", { nx: true })).toBeNull();
    expect(await redis.getdel(key("s"))).toBe("hello");
    expect(await redis.get(key("s"))).toBeNull();
    expect(await redis.incr(key("n"))).toBe(1);
    expect(await redis.incrby(key("n"), 41)).toBe(42);
  });

  it("hashes, sets and sorted sets", async () => {
    const { redis } = handle;
    await redis.hset(key("h"), { a: "x", b: "y" });
    expect(await redis.hgetall(key("h"))).toEqual({ a: "x", b: "y" });
    expect(await redis.hmget(key("h"), "a", "missing")).toEqual({ a: "x", missing: null });
    await redis.sadd(key("set"), "m1", "m2");
    expect((await redis.smembers(key("set"))).sort()).toEqual(["m1", "m2"]);
    await redis.zadd(key("z"), { score: 2, member: "two" }, { score: 1, member: "one" });
    expect(await redis.zrange(key("z"), 0, -1)).toEqual(["one", "two"]);
    expect(await redis.zrange(key("z"), 0, -1, { withScores: true })).toEqual(["one", 1, "two", 2]);
    expect(await redis.zrem(key("z"), "one")).toBe(1);
    expect(await redis.zcard(key("z"))).toBe(1);
  });

  it("expiry in milliseconds", async () => {
    const { redis } = handle;
    await redis.set(key("p"), "v");
    expect(await redis.pexpireat(key("p"), Date.now() + 60_000)).toBe(1);
    const pttl = await redis.pttl(key("p"));
    expect(pttl).toBeGreaterThan(55_000);
    await redis.pexpire(key("p"), 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(await redis.get(key("p"))).toBeNull();
  });

  it("pipelines keep order and report each command's error", async () => {
    const p = handle.redis.pipeline();
    p.set(key("a"), "1");
    p.incr(key("a"));
    p.get(key("a"));
    expect(await p.exec()).toEqual(["OK", 2, 2]);
  });

  it("MULTI/EXEC runs commands as one transaction", async () => {
    const tx = handle.redis.multi();
    tx.set(key("t"), "5");
    tx.incrby(key("t"), 5);
    expect(await tx.exec()).toEqual(["OK", 10]);
  });

  it("Lua scripts through EVAL and EVALSHA (createScript)", async () => {
    const script = handle.redis.createScript<string[]>("redis.call('SET', KEYS[1], ARGV[1]); return { redis.call('GET', KEYS[1]), ARGV[2] }");
    expect(await script.exec([key("lua")], ["stored", "x"])).toEqual(["stored", "x"]);
    // Second call goes through EVALSHA (the script is cached by now).
    expect(await script.exec([key("lua")], ["again", "y"])).toEqual(["again", "y"]);
  });

  it("scripts written for Redis >= 7.4 (shebang flags) run on this Redis", async () => {
    const script = handle.redis.createScript<number>("#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])");
    expect(await script.exec([key("flag")], [])).toBe(1);
    expect(await script.exec([key("flag")], [])).toBe(2);
  });

  it("errors come back as errors", async () => {
    await expect(handle.redis.eval("return redis.error_reply('BOOM no luck')", [], [])).rejects.toThrow(/BOOM/);
  });

  it("scan finds keys by prefix", async () => {
    const name = key(`scan-${crypto.randomUUID()}`);
    await handle.redis.set(name, "1");
    // One page need not hold it (a large keyspace; on a cluster, one master per page): follow the cursor.
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, page] = await handle.redis.scan(cursor, { match: `${name}*`, count: 1000 });
      keys.push(...page);
      cursor = String(next);
    } while (cursor !== "0");
    expect(keys).toContain(name);
  });
});
