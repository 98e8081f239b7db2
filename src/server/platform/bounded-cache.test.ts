import { describe, expect, it } from "vitest";
import { BoundedCache } from "~/server/platform/bounded-cache";

describe("bounded cache", () => {
  it("never holds more than its size: the oldest entry goes first", () => {
    const cache = new BoundedCache<number, string>(3);
    for (let i = 0; i < 10; i++) cache.set(i, `v${i}`);
    expect(cache.count).toBe(3);
    expect([0, 6, 7, 8, 9].map((i) => cache.get(i))).toEqual([undefined, undefined, "v7", "v8", "v9"]);
    cache.get(7); // a read does not keep an entry longer
    cache.set(10, "v10");
    expect(cache.get(7)).toBeUndefined();
    expect(cache.count).toBe(3);
  });

  it("replacing a value keeps the count and gives the new value", () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("a", 3);
    expect(cache.count).toBe(2);
    expect([cache.get("a"), cache.get("b")]).toEqual([3, 2]);
  });

  it("computes a missing value once and returns the stored one after", () => {
    const cache = new BoundedCache<string, { n: number }>(100);
    let calls = 0;
    const compute = (key: string) => ({ n: (calls++, key.length) });
    const first = cache.getOrSet("abc", compute);
    expect(cache.getOrSet("abc", compute)).toBe(first);
    expect(first).toEqual({ n: 3 });
    expect(calls).toBe(1);
  });

  it("is refused without room for an entry", () => {
    expect(() => new BoundedCache(0)).toThrow();
  });
});
