import { createClient } from "redis";
import { describe, expect, it } from "vitest";
import { tcpPushSubscription } from "~/server/platform/redis/push";
import { uniquePrefix } from "~/test/harness";

// The live hub's subscription (push.ts) over a real Redis: a node that refuses is left for the
// next one (on a cluster any node receives every PUBLISH), and closing it stops for good.

describe("tcpPushSubscription (real Redis)", () => {
  it("moves past a node that refuses, subscribes on the next, and hears what is published", async () => {
    const channel = `${uniquePrefix()}live`;
    const events: string[] = [];
    let ups = 0;
    let downs = 0;
    // Port 1 refuses at once; the second URL is the test Redis.
    const subscription = tcpPushSubscription(["redis://127.0.0.1:1", process.env.TEST_REDIS_URL!], channel, {
      message: (text) => events.push(text),
      up: () => ups++,
      down: () => downs++,
    });
    const publisher = createClient({ url: process.env.TEST_REDIS_URL });
    await publisher.connect();
    try {
      const until = Date.now() + 5_000;
      while (ups === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(ups).toBe(1);
      expect(downs).toBeGreaterThanOrEqual(1);
      expect(await publisher.publish(channel, "u:someone")).toBe(1);
      await new Promise((r) => setTimeout(r, 100));
      expect(events).toEqual(["u:someone"]);

      await subscription.close();
      expect(await publisher.publish(channel, "u:after-close")).toBe(0);
    } finally {
      await subscription.close();
      publisher.destroy();
    }
  });
});
