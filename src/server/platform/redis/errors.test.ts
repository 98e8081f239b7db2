import { describe, expect, it } from "vitest";
import { isInfrastructureError } from "~/server/api/errors";
import { uniquePrefix } from "~/test/harness";
import { RedisServer } from "~/test/redis-server";
import { createRedis } from "~/server/platform/redis";

describe("Redis failures reach callers typed", () => {
  it("a command Redis rejects stays an ordinary error; Redis busy with a long script is an outage", async () => {
    const server = await RedisServer.start(["--busy-reply-threshold", "100"]);
    const handle = await createRedis({ redisUrl: server.url, prefix: uniquePrefix() });
    const admin = await createRedis({ redisUrl: server.url, prefix: uniquePrefix() });
    try {
      await handle.redis.set(`${handle.prefix}text`, "not a number");
      const wrongType = await handle.redis.incr(`${handle.prefix}text`).catch((e: unknown) => e);
      expect(wrongType).toMatchObject({ name: "UpstashError", message: expect.stringMatching(/^ERR value is not an integer/) });
      expect(isInfrastructureError(wrongType)).toBe(false);

      // A script that never ends: after the threshold Redis answers every other client BUSY.
      const stuck = admin.redis.eval("while true do end", [], []).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 300));
      const busy = await handle.redis.get(`${handle.prefix}text`).catch((e: unknown) => e);
      expect(busy).toMatchObject({ name: "RedisUnavailableError", code: "REDIS_UNAVAILABLE" });
      expect(isInfrastructureError(busy)).toBe(true);
      // SCRIPT KILL is the one command Redis still takes; the script's own caller is told it was killed.
      await handle.redis.exec(["SCRIPT", "KILL"]);
      expect(await stuck).toMatchObject({ name: "UpstashError", message: expect.stringMatching(/killed/i) });
      expect(await handle.redis.get(`${handle.prefix}text`)).toBe("not a number");
    } finally {
      // The server first: a client's QUIT would wait behind a script that is still running.
      await server.stop();
      await handle.close();
      await admin.close();
    }
  });
});
