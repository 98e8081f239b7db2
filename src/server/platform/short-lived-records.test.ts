import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeys, testRedis, uniquePrefix } from "~/test/harness";
import { refuseCrossSlot } from "~/test/slot-check";
import { createRedis, type RedisHandle } from "~/server/platform/redis";
import { GONE, ShortLivedRecords } from "~/server/platform/short-lived-records";

// The record store QR handoffs and new-device approvals are built on, checked on its own against
// both transports the app runs on: the real Redis over TCP and the embedded in-memory one (whose
// Lua is another implementation, see platform/redis/lua.ts).

type Status = "pending" | "scanned" | "approved" | "completed" | "failed" | "cancelled";
const FIELDS = ["owner", "note"] as const;

const transports: [string, () => Promise<RedisHandle>][] = [
  ["real Redis", () => createRedis({ ...testRedis(), prefix: uniquePrefix(), wrapRunner: refuseCrossSlot })],
  ["embedded Redis", () => createRedis({ prefix: uniquePrefix() })],
];

describe.each(transports)("short-lived records (%s)", (_name, connect) => {
  let handle: RedisHandle;
  const clock = { now: 1_700_000_000_000 };
  const store = (ttlMs = 60_000) =>
    new ShortLivedRecords<Status, (typeof FIELDS)[number]>(handle.redis, {
      prefix: handle.prefix,
      kind: "thing",
      index: "things",
      fields: FIELDS,
      ttlMs,
      now: () => clock.now,
    });

  beforeAll(async () => {
    handle = await connect();
  });
  afterAll(async () => {
    await deleteKeys(handle);
    await handle.close();
  });

  it("creates with a TTL and the injected clock; reads only for a viewer holding one of the given values", async () => {
    const records = store(60_000);
    const created = await records.create({ status: "pending", fields: { owner: "u1", secretHash: "s1" } });
    expect(created.createdAt.getTime()).toBe(clock.now);
    expect(created.expiresAt.getTime()).toBe(clock.now + 60_000);
    const ttl = await handle.redis.pttl(records.key(created.id));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);

    const bySecret = await records.read(created.id, [{ secretHash: "s1" }, { owner: "" }]);
    expect(bySecret).toEqual({
      ok: true,
      record: {
        id: created.id,
        status: "pending",
        createdAt: created.createdAt,
        expiresAt: created.expiresAt,
        attempts: 0,
        fields: { owner: "u1", note: "" },
      },
    });
    expect((await records.read(created.id, [{ secretHash: "" }, { owner: "u1" }])).ok).toBe(true);
    expect(await records.read(created.id, [{ secretHash: "wrong" }, { owner: "u2" }])).toEqual({ ok: false, why: "forbidden" });
    // An empty value never matches, not even a field that is missing: "note" is not set.
    expect(await records.read(created.id, [{ note: "" }])).toEqual({ ok: false, why: "forbidden" });
    expect(await records.read(created.id, [])).toEqual({ ok: false, why: "forbidden" });
    expect(await records.read("no-such-record-id", [{ owner: "u1" }])).toEqual(GONE);
  });

  it("after its TTL a record is gone for every operation, and leaves its user's index", async () => {
    const records = store(300);
    const created = await records.create({ status: "pending", fields: { owner: "u-ttl", secretHash: "s" }, indexFor: "u-ttl" });
    expect((await records.listFor("u-ttl")).map((r) => r.id)).toEqual([created.id]);
    await new Promise((r) => setTimeout(r, 400));
    expect(await records.read(created.id, [{ owner: "u-ttl" }])).toEqual(GONE);
    expect(await records.take(created.id, { require: { secretHash: "s" }, from: "pending", to: "completed" })).toEqual(GONE);
    expect(await records.listFor("u-ttl")).toEqual([]);
  });

  it("a transition checks who asks, then the state, and writes atomically", async () => {
    const records = store();
    const { id } = await records.create({ status: "pending", fields: { owner: "u1", tokenHash: "t" } });
    const approve = { require: { tokenHash: "t", owner: "u1" }, rules: [{ from: ["scanned" as const] }], set: { status: "approved" as const, note: "by s1" } };
    expect(await records.transition(id, { ...approve, require: { tokenHash: "t", owner: "u2" } })).toEqual({ ok: false, why: "forbidden" });
    expect(await records.transition(id, { ...approve, require: { tokenHash: "", owner: "u1" } })).toEqual({ ok: false, why: "forbidden" });
    expect(await records.transition(id, approve)).toMatchObject({ ok: false, why: "wrong_state", record: { status: "pending", fields: { note: "" } } });
    expect(await records.transition(id, { ...approve, rules: [{ from: ["pending"], where: { note: "x" } }] })).toMatchObject({ why: "wrong_state" });
    expect(await records.transition(id, { ...approve, rules: [{ from: ["pending"], where: { owner: "u1" } }] })).toMatchObject({
      ok: true,
      record: { status: "approved", fields: { owner: "u1", note: "by s1" } },
    });
  });

  it("guesses: concurrent wrong ones use up exactly the attempts; the last one moves it to its failed state", async () => {
    const records = store();
    const { id } = await records.create({ status: "pending", fields: { owner: "u1", codeHash: "right" } });
    const guess = (value: string) =>
      records.transition(id, {
        require: { owner: "u1" },
        rules: [{ from: ["pending"] }],
        guess: { field: "codeHash", value, maxAttempts: 5, exhausted: { status: "failed" } },
        set: { status: "approved" },
      });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => guess(`wrong-${i}`)));
    const whys = results.map((r) => (r.ok ? "ok" : r.why));
    expect(whys.filter((w) => w === "wrong_code")).toHaveLength(4);
    expect(whys.filter((w) => w === "attempts_exhausted")).toHaveLength(1);
    expect(whys.filter((w) => w === "wrong_state")).toHaveLength(25);
    const exhausted = results.find((r) => !r.ok && r.why === "attempts_exhausted");
    expect(exhausted).toMatchObject({ record: { status: "failed", attempts: 5 } });
    // Dead: not even the right value opens it now.
    expect(await guess("right")).toMatchObject({ ok: false, why: "wrong_state" });

    const second = await records.create({ status: "pending", fields: { owner: "u1", codeHash: "right" } });
    const wrongOnce = await records.transition(second.id, {
      rules: [{ from: ["pending"] }],
      guess: { field: "codeHash", value: "nope", maxAttempts: 5, exhausted: { status: "failed" } },
      set: { status: "approved" },
    });
    expect(wrongOnce).toMatchObject({ ok: false, why: "wrong_code", record: { attempts: 1, status: "pending" } });
    const right = await records.transition(second.id, {
      rules: [{ from: ["pending"] }],
      guess: { field: "codeHash", value: "right", maxAttempts: 5, exhausted: { status: "failed" } },
      set: { status: "approved" },
    });
    expect(right).toMatchObject({ ok: true, record: { status: "approved", attempts: 1 } });
  });

  it("take: only with the secret, only from its state, and exactly once under a race", async () => {
    const records = store();
    const { id } = await records.create({ status: "pending", fields: { secretHash: "s" } });
    const take = (secret: string) => records.take(id, { require: { secretHash: secret }, from: "approved", to: "completed" });
    expect(await take("s")).toMatchObject({ ok: false, why: "wrong_state", record: { status: "pending" } });
    await records.transition(id, { rules: [{ from: ["pending"] }], set: { status: "approved" } });
    expect(await take("other")).toEqual({ ok: false, why: "forbidden" });
    const results = await Promise.all(Array.from({ length: 20 }, () => take("s")));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.why === "wrong_state")).toHaveLength(19);
  });

  it("bind: the first binder wins a race, the same one again is idempotent, anyone else is refused", async () => {
    const records = store();
    const { id } = await records.create({ status: "pending", fields: { tokenHash: "t" } });
    const bind = (owner: string, tokenHash = "t") =>
      records.bind(id, { require: { tokenHash }, field: "owner", value: owner, from: "pending", to: "scanned", set: { note: `seen by ${owner}` } });
    expect(await bind("u0", "wrong token")).toEqual({ ok: false, why: "forbidden" });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => bind(`u${i}`)));
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.ok ? winners[0]!.record.fields.owner : "";
    expect(await bind(winner)).toMatchObject({ ok: true, record: { status: "scanned", fields: { owner: winner, note: `seen by ${winner}` } } });
    expect(await bind(winner === "u1" ? "u2" : "u1")).toMatchObject({ ok: false, why: "wrong_state" });
  });

  it("the user's index lists and bulk-updates their records, and lives as long as its longest-lived member", async () => {
    const long = store(60_000);
    const short = store(2_000);
    const a = await long.create({ status: "pending", fields: { owner: "u-idx", device: "d1" }, indexFor: "u-idx" });
    const b = await long.create({ status: "approved", fields: { owner: "u-idx", device: "d2" }, indexFor: "u-idx" });
    const c = await long.create({ status: "completed", fields: { owner: "u-idx", device: "d1" }, indexFor: "u-idx" });
    // Binding a record with little time left to the index must not shorten it.
    const d = await short.create({ status: "pending", fields: { tokenHash: "t" } });
    expect(
      (await short.bind(d.id, { require: { tokenHash: "t" }, field: "owner", value: "u-idx", from: "pending", to: "scanned", indexFor: "u-idx" })).ok,
    ).toBe(true);
    expect(await handle.redis.pttl(long.indexKey("u-idx"))).toBeGreaterThan(50_000);
    expect((await long.listFor("u-idx")).map((r) => r.id).sort()).toEqual([a.id, b.id, c.id, d.id].sort());

    // Only open ones from one device.
    expect(await long.updateAllFor("u-idx", { from: ["pending", "approved"], where: { device: "d1" }, set: { status: "cancelled" } })).toEqual([a.id]);
    // Then every open one.
    expect((await long.updateAllFor("u-idx", { from: ["pending", "scanned", "approved"], set: { status: "cancelled" } })).sort()).toEqual([b.id, d.id].sort());
    const statuses = Object.fromEntries((await long.listFor("u-idx")).map((r) => [r.id, r.status]));
    expect(statuses).toEqual({ [a.id]: "cancelled", [b.id]: "cancelled", [c.id]: "completed", [d.id]: "cancelled" });
  });
});
