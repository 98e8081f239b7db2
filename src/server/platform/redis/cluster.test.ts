import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis, type RedisHandle } from "~/server/platform/redis";
import { isRedisUnavailable } from "~/server/platform/redis/errors";
import { userKey } from "~/server/platform/redis/keys";
import { clusterRunner } from "~/server/platform/redis/runners";
import { slotOf } from "~/server/platform/redis/slots";
import { PASSWORD } from "~/test/fixtures";
import { createTestServices, deleteKeys, TestBrowser, uniqueEmail, uniquePrefix } from "~/test/harness";

// Runs in the `cluster` vitest project only (.config/vitest.ts), against the local Redis Cluster.
const nodes = () => process.env.TEST_REDIS_CLUSTER_NODES!.split(",");
const ports = () => nodes().map((n) => Number(n.split(":")[1]));

describe("Redis Cluster runner", () => {
  let handle: RedisHandle;
  beforeAll(async () => {
    handle = await createRedis({ clusterNodes: nodes(), prefix: uniquePrefix() });
  });
  afterAll(async () => {
    await deleteKeys(handle);
    await handle.close();
  });
  const key = (k: string) => `${handle.prefix}${k}`;

  it("a script whose keys span slots is refused by the cluster itself (CROSSSLOT); one slot runs", async () => {
    const script = handle.redis.createScript<string>("redis.call('SET', KEYS[1], 'x'); redis.call('SET', KEYS[2], 'y'); return 'ok'");
    expect(slotOf(key("{a}1"))).not.toBe(slotOf(key("{b}1")));
    await expect(script.exec([key("{a}1"), key("{b}1")], [])).rejects.toThrow(/CROSSSLOT/);
    expect(await script.exec([key("{a}1"), key("{a}2")], [])).toBe("ok");
  });

  it("multi-key DEL and EXISTS are split by slot; SCAN and KEYS see every master; a tagged SCAN only its node", async () => {
    const names = Array.from({ length: 40 }, (_, i) => key(`m:{k${i}}v`));
    for (const name of names) await handle.redis.set(name, "1");
    expect(new Set(names.map(slotOf)).size).toBeGreaterThan(20);
    expect(await handle.redis.exists(...names)).toBe(40);
    const scanned: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await handle.redis.scan(cursor, { match: `${handle.prefix}m:*`, count: 5 });
      scanned.push(...keys);
      cursor = String(next);
    } while (cursor !== "0");
    expect(scanned.sort()).toEqual([...names].sort());
    expect((await handle.redis.keys(`${handle.prefix}m:*`)).sort()).toEqual([...names].sort());
    // The node may hold many other keys (other tests, earlier runs): follow the cursor.
    const tagged: string[] = [];
    cursor = "0";
    do {
      const [next, keys] = await handle.redis.scan(cursor, { match: `${handle.prefix}m:{k7}*`, count: 1000 });
      tagged.push(...keys);
      cursor = String(next);
    } while (cursor !== "0");
    expect(tagged).toEqual([key("m:{k7}v")]);
    expect(await handle.redis.del(...names)).toBe(40);
  });

  it("a script the node forgot (a promoted replica, SCRIPT FLUSH) runs again by EVAL", async () => {
    const script = handle.redis.createScript<string>("return ARGV[1]");
    expect(await script.exec([key("{s}1")], ["first"])).toBe("first");
    for (const port of ports()) execFileSync("redis-cli", ["-p", String(port), "script", "flush"]);
    expect(await script.exec([key("{s}1")], ["again"])).toBe("again");
  });

  it("no reachable node: a typed outage (503) within the connect timeout, never a hang", async () => {
    const started = Date.now();
    const error = await clusterRunner(["127.0.0.1:7999"]).catch((e: unknown) => e);
    expect(isRedisUnavailable(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("the app on Redis Cluster: a user's keys in one slot, flows end to end", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  beforeAll(async () => {
    t = await createTestServices({ NEW_DEVICE_APPROVAL: "true" });
  });
  afterAll(() => t.close());

  it("sign in on two devices, approve a third, QR hand-off, revoke, lockout: no CROSSSLOT anywhere", async () => {
    expect(t.services.redis.kind).toBe("cluster");
    const email = uniqueEmail("cluster");
    const laptop = new TestBrowser(t.services);
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    expect(reg.status).toBe(200);
    const userId = reg.data!.user.id;

    // A new device needs approval from the laptop (approval ids carry the user's tag).
    const phone = new TestBrowser(t.services);
    const asked = await phone.mutation<{ status: string; requestId: string; code: string }>("auth.login", { email, password: PASSWORD });
    expect(asked.data?.status).toBe("approval_required");
    expect((await laptop.mutation("approvals.confirm", { requestId: asked.data!.requestId, code: asked.data!.code })).status).toBe(200);
    expect((await phone.mutation("approvals.complete", { requestId: asked.data!.requestId })).status).toBe(200);

    const sessions = (await laptop.query<{ id: string; current: boolean }[]>("sessions.list")).data!;
    expect(sessions).toHaveLength(2);
    const phoneSession = sessions.find((s) => !s.current)!;
    expect(slotOf(`${t.env.REDIS_PREFIX}{${phoneSession.id.slice(0, 12)}}session:${phoneSession.id}`)).toBe(
      slotOf(userKey(t.env.REDIS_PREFIX, userId, "sessions")),
    );

    // A sign-in QR (its own slot) scanned and approved by the laptop (the user's slot).
    const desk = new TestBrowser(t.services);
    const started = (await desk.mutation<{ id: string; qrUrl: string }>("handoff.start")).data!;
    const token = started.qrUrl.split("/").pop()!;
    expect((await laptop.mutation("handoff.inspect", { token })).status).toBe(200);
    expect((await laptop.mutation("handoff.approve", { token })).status).toBe(200);
    expect((await desk.mutation("handoff.complete", { id: started.id })).status).toBe(200);
    expect((await desk.query("auth.me")).status).toBe(200);

    // Revoke one, then the emergency lockout ends the rest; each on its very next request.
    expect((await laptop.mutation("sessions.revoke", { sessionId: phoneSession.id })).status).toBe(200);
    expect((await phone.query("auth.me")).status).toBe(401);
    expect((await laptop.mutation("sessions.lockout", { password: PASSWORD })).status).toBe(200);
    expect((await desk.query("auth.me")).status).toBe(401);
    expect((await laptop.query("auth.me")).status).toBe(401);
  });
});
