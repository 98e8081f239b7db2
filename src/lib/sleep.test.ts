import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { sleep } from "./sleep";

describe("sleep", () => {
  it("leaves no abort listener behind when the time runs out (a subscription sleeps once per poll)", async () => {
    const controller = new AbortController();
    for (let poll = 0; poll < 30; poll++) {
      await sleep(1, controller.signal);
      expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    }
  });

  it("wakes at once on abort, and at once when already aborted", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = sleep(10_000, controller.signal);
    controller.abort();
    await waiting;
    await sleep(10_000, controller.signal);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
