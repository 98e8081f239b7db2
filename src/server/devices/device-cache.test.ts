import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userKey } from "~/server/platform/redis/keys";
import { sleep } from "~/lib/sleep";
import { createTestServices } from "~/test/harness";
import { DeviceCache, type UserDevices } from "~/server/devices/device-cache";

/** A stand-in for PostgreSQL: the devices' name is the number of changes made so far. */
function fakeDatabase() {
  const db = {
    changes: 0,
    loads: 0,
    async load(delayMs = 0): Promise<UserDevices> {
      db.loads++;
      const seen = db.changes;
      if (delayMs) await sleep(delayMs);
      return { devices: [{ id: "d1", name: String(seen), browser: null, os: null, deviceType: "desktop", firstSeenAt: 1, lastSeenAt: 2 }], addresses: [] };
    },
  };
  return db;
}
const nameOf = (devices: UserDevices) => Number(devices.devices[0]!.name);

describe.each([
  ["real Redis", process.env.TEST_REDIS_URL ?? ""],
  ["embedded Redis", ""],
])("the device cache (%s)", (_name, redisUrl) => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  beforeAll(async () => {
    t = await createTestServices({ REDIS_URL: redisUrl });
  });
  afterAll(() => t.close());
  const cache = () => t.services.deviceCache;

  it("reads the database once, then serves the stored entry until a change", async () => {
    const user = crypto.randomUUID();
    const db = fakeDatabase();
    for (let i = 0; i < 3; i++) expect(nameOf(await cache().get(user, () => db.load()))).toBe(0);
    expect(db.loads).toBe(1);

    db.changes++;
    await cache().invalidate(user);
    expect(nameOf(await cache().get(user, () => db.load()))).toBe(1);
    expect(nameOf(await cache().get(user, () => db.load()))).toBe(1);
    expect(db.loads).toBe(2);
  });

  it("keeps users apart", async () => {
    const [ann, bob] = [crypto.randomUUID(), crypto.randomUUID()];
    const db = fakeDatabase();
    await cache().get(ann, () => db.load());
    await cache().invalidate(bob);
    await cache().get(ann, () => db.load());
    expect(db.loads).toBe(1);
  });

  it("a change during a database read: what that read stores is never served", async () => {
    const user = crypto.randomUUID();
    const db = fakeDatabase();
    const stale = cache().get(user, async () => {
      const read = await db.load();
      // The change commits and invalidates after this read saw the database.
      db.changes++;
      await cache().invalidate(user);
      return read;
    });
    expect(nameOf(await stale)).toBe(0); // that call itself answers with what it read
    expect(nameOf(await cache().get(user, () => db.load()))).toBe(1);
  });

  it("a lost version key (eviction, restart) means one more database read, never an old entry", async () => {
    const user = crypto.randomUUID();
    const db = fakeDatabase();
    await cache().get(user, () => db.load());
    db.changes++;
    await t.services.redis.redis.del(userKey(t.env.REDIS_PREFIX, user, "devices:version"));
    expect(nameOf(await cache().get(user, () => db.load()))).toBe(1);
    expect(db.loads).toBe(2);
  });

  it("an entry the process holds is served without moving it, until another instance's change", async () => {
    const user = crypto.randomUUID();
    const db = fakeDatabase();
    const other = new DeviceCache(t.services.redis.raw, t.env.REDIS_PREFIX, 60_000); // another app instance
    await cache().get(user, () => db.load());
    // The stored entry is gone but the version is not: this process still holds the entry for it.
    await t.services.redis.redis.del(userKey(t.env.REDIS_PREFIX, user, "devices"));
    expect(nameOf(await cache().get(user, () => db.load()))).toBe(0);
    expect(db.loads).toBe(1);
    db.changes++;
    await other.invalidate(user);
    expect(nameOf(await cache().get(user, () => db.load()))).toBe(1);
    expect(nameOf(await other.get(user, () => db.load()))).toBe(1); // the entry that read stored
    expect(db.loads).toBe(2);
  });

  it("under racing reads and changes, a read that starts after a change finished always sees it", async () => {
    const user = crypto.randomUUID();
    const db = fakeDatabase();
    let finished = 0; // changes whose invalidation has returned
    const violations: string[] = [];
    const writer = async () => {
      for (let i = 0; i < 15; i++) {
        const mine = ++db.changes;
        await cache().invalidate(user);
        finished = Math.max(finished, mine);
        await sleep(Math.random() * 3);
      }
    };
    const reader = async () => {
      for (let i = 0; i < 25; i++) {
        const mustSee = finished;
        const got = nameOf(await cache().get(user, () => db.load(Math.random() * 4)));
        if (got < mustSee) violations.push(`read ${got} after change ${mustSee} finished`);
      }
    };
    await Promise.all([writer(), writer(), ...Array.from({ length: 8 }, reader)]);
    expect(violations).toEqual([]);
    expect(nameOf(await cache().get(user, () => db.load()))).toBe(db.changes);
  });
});
