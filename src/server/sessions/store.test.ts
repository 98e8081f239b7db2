import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices } from "~/test/harness";
import { SessionLimitError, SessionStore, sessionKey, userSessionsKey, type NewSession, type SessionCap } from "~/server/sessions/store";

const MINUTE = 60_000;
const DAY = 86_400_000;
/** The store tests that are not about the cap create sessions without one. */
const UNCAPPED: SessionCap = { limit: 0, policy: "evict-oldest" };

describe.each([
  ["real Redis", process.env.TEST_REDIS_URL ?? ""],
  ["embedded Redis", ""],
])("sessions in Redis (%s)", (_name, redisUrl) => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const newSession = (userId = crypto.randomUUID()): NewSession => ({
    userId,
    email: "ann@example.com",
    deviceId: crypto.randomUUID(),
    ip: "203.0.113.7",
    method: "password",
    emailVerified: false,
  });

  beforeAll(async () => {
    t = await createTestServices({ SESSION_IDLE_MINUTES: "60", SESSION_MAX_DAYS: "30", REDIS_URL: redisUrl });
  });
  afterAll(() => t.close());

  it("creates a session with a 128+ bit id and a 256-bit secret, and validates it", async () => {
    const { token, session } = await t.services.sessions.createSession(newSession(), UNCAPPED);
    const [id, secret] = token.split(".");
    expect(Buffer.from(id!, "base64url").length).toBeGreaterThanOrEqual(16);
    expect(Buffer.from(secret!, "base64url").length).toBe(32);
    const validated = await t.services.sessions.validateSessionToken(token);
    expect(validated).toMatchObject({ id: session.id, userId: session.userId, ip: "203.0.113.7", method: "password" });
  });

  it("never stores the secret: a dump of Redis yields no usable token", async () => {
    const { token, session } = await t.services.sessions.createSession(newSession(), UNCAPPED);
    const secret = token.split(".")[1]!;
    const stored = await t.services.redis.redis.hgetall<Record<string, unknown>>(sessionKey(t.env.REDIS_PREFIX, session.id));
    expect(stored).toBeTruthy();
    const dump = JSON.stringify(stored);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(token);
    expect(stored!.secretHash).toBe(crypto.createHash("sha256").update(secret).digest("hex"));
    // The id alone (which a dump does reveal) with any secret is rejected.
    expect(await t.services.sessions.validateSessionToken(`${session.id}.${"A".repeat(43)}`)).toBeNull();
  });

  it("rejects malformed and unknown tokens", async () => {
    for (const bad of ["", "x", "a.b", `${"a".repeat(22)}.${"b".repeat(43)}`, "💥.💥", "a".repeat(5000)]) {
      expect(await t.services.sessions.validateSessionToken(bad)).toBeNull();
    }
  });

  it("slides the idle timeout on use, in Redis as well as in the answer", async () => {
    const start = Date.now();
    t.clock.now = start;
    const { token, session } = await t.services.sessions.createSession(newSession(), UNCAPPED);
    expect(session.idleExpiresAt.getTime()).toBe(start + 60 * MINUTE);

    t.clock.now = start + 50 * MINUTE;
    const used = await t.services.sessions.validateSessionToken(token);
    expect(used?.lastSeenAt.getTime()).toBe(start + 50 * MINUTE);
    expect(used?.idleExpiresAt.getTime()).toBe(start + 110 * MINUTE);
    const pttl = await t.services.redis.redis.pttl(sessionKey(t.env.REDIS_PREFIX, session.id));
    // The key itself now lives until the new idle deadline (measured from the real clock).
    expect(pttl).toBeGreaterThan(105 * MINUTE);
    expect(pttl).toBeLessThanOrEqual(110 * MINUTE);

    t.clock.now = start + 100 * MINUTE; // 50 minutes after last use: still alive
    expect(await t.services.sessions.validateSessionToken(token)).not.toBeNull();
    t.clock.now = undefined;
  });

  it("ends a session idle for longer than the idle timeout, and drops it from the user's index", async () => {
    const start = Date.now();
    t.clock.now = start;
    const userId = crypto.randomUUID();
    const { token, session } = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    expect(await t.services.redis.redis.zrange(userSessionsKey(t.env.REDIS_PREFIX, userId), 0, -1)).toEqual([session.id]);

    t.clock.now = start + 60 * MINUTE; // exactly the idle timeout
    expect(await t.services.sessions.validateSessionToken(token)).toBeNull();
    expect(await t.services.redis.redis.exists(sessionKey(t.env.REDIS_PREFIX, session.id))).toBe(0);
    expect(await t.services.redis.redis.zrange(userSessionsKey(t.env.REDIS_PREFIX, userId), 0, -1)).toEqual([]);
    t.clock.now = undefined;
  });

  it("ends a session at its absolute lifetime even when used all along", async () => {
    const start = Date.now();
    t.clock.now = start;
    const { token, session } = await t.services.sessions.createSession(newSession(), UNCAPPED);
    expect(session.absoluteExpiresAt.getTime()).toBe(start + 30 * DAY);
    // Used every 45 minutes (inside the 60-minute idle timeout) for 30 days.
    for (let at = start + 45 * MINUTE; at < start + 30 * DAY; at += 45 * MINUTE) {
      t.clock.now = at;
      const s = await t.services.sessions.validateSessionToken(token);
      expect(s).not.toBeNull();
      expect(s!.idleExpiresAt.getTime()).toBeLessThanOrEqual(start + 30 * DAY);
    }
    t.clock.now = start + 30 * DAY;
    expect(await t.services.sessions.validateSessionToken(token)).toBeNull();
    t.clock.now = undefined;
  });

  it("deletes a session at once; the token is useless on the very next check", async () => {
    const userId = crypto.randomUUID();
    const { token, session } = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    expect(await t.services.sessions.deleteSession(session.id, crypto.randomUUID())).toBe(false); // not that user's
    expect(await t.services.sessions.validateSessionToken(token)).not.toBeNull();
    expect(await t.services.sessions.deleteSession(session.id, userId)).toBe(true);
    expect(await t.services.sessions.validateSessionToken(token)).toBeNull();
    expect(await t.services.redis.redis.zrange(userSessionsKey(t.env.REDIS_PREFIX, userId), 0, -1)).toEqual([]);
  });

  it("prunes index entries of sessions that expired in Redis when the next one is created", async () => {
    const userId = crypto.randomUUID();
    const first = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    // Simulate Redis expiring the key on its own.
    await t.services.redis.redis.del(sessionKey(t.env.REDIS_PREFIX, first.session.id));
    const second = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    expect(await t.services.redis.redis.zrange(userSessionsKey(t.env.REDIS_PREFIX, userId), 0, -1)).toEqual([second.session.id]);
  });

  it("lists a user's live sessions, most recently used first, without expired ones", async () => {
    const start = Date.now();
    t.clock.now = start;
    const userId = crypto.randomUUID();
    const a = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    t.clock.now = start + 1_000;
    const b = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    t.clock.now = start + 2_000;
    await t.services.sessions.validateSessionToken(a.token); // a is now the most recent
    await t.services.sessions.createSession(newSession(), UNCAPPED); // someone else's
    expect((await t.services.sessions.listUserSessions(userId)).map((s) => s.id)).toEqual([a.session.id, b.session.id]);

    t.clock.now = start + 1_000 + 60 * MINUTE; // b idle for an hour, a for 59 minutes
    await t.services.redis.redis.del(sessionKey(t.env.REDIS_PREFIX, b.session.id)); // as Redis would expire it
    expect((await t.services.sessions.listUserSessions(userId)).map((s) => s.id)).toEqual([a.session.id]);
    expect(await t.services.redis.redis.zcard(userSessionsKey(t.env.REDIS_PREFIX, userId))).toBe(1);
    t.clock.now = undefined;
  });

  it("a list shows what another app instance changed at once: the ids it remembers are only a hint", async () => {
    const userId = crypto.randomUUID();
    const elsewhere = new SessionStore(t.services.redis.raw, t.env.REDIS_PREFIX, {
      idleTimeoutMs: 60 * MINUTE,
      absoluteLifetimeMs: 30 * DAY,
      tokenIdleTimeoutMs: 7 * DAY,
    });
    const a = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    expect((await t.services.sessions.listUserSessions(userId)).map((s) => s.id)).toEqual([a.session.id]);
    const b = await elsewhere.createSession({ ...newSession(userId), ip: "2001:db8::1", method: "qr" }, UNCAPPED);
    const listed = await t.services.sessions.listUserSessions(userId);
    expect(listed.map((s) => s.id).sort()).toEqual([a.session.id, b.session.id].sort());
    expect(listed.find((s) => s.id === b.session.id)).toEqual({
      id: b.session.id,
      deviceId: b.session.deviceId,
      ip: "2001:db8::1",
      method: "qr",
      createdAt: b.session.createdAt,
      lastSeenAt: b.session.lastSeenAt,
      idleExpiresAt: b.session.idleExpiresAt,
      absoluteExpiresAt: b.session.absoluteExpiresAt,
    });
    await elsewhere.deleteSession(a.session.id, userId);
    expect((await t.services.sessions.listUserSessions(userId)).map((s) => s.id)).toEqual([b.session.id]);
    await elsewhere.deleteUserSessions(userId);
    expect(await t.services.sessions.listUserSessions(userId)).toEqual([]);
  });

  it("a list parses again only the sessions used since the last one (cached by their stored line)", async () => {
    const start = Date.now();
    t.clock.now = start;
    const userId = crypto.randomUUID();
    const a = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    const b = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    const first = await t.services.sessions.listUserSessions(userId);
    t.clock.now = start + 5_000;
    await t.services.sessions.validateSessionToken(b.token);
    const second = await t.services.sessions.listUserSessions(userId);
    expect(second.map((s) => s.id)).toEqual([b.session.id, a.session.id]);
    expect(second[0]!.lastSeenAt).toEqual(new Date(start + 5_000));
    expect(second[0]!.idleExpiresAt).toEqual(new Date(start + 5_000 + 60 * MINUTE));
    expect(second[1]).toBe(first.find((s) => s.id === a.session.id)); // unchanged: the same object
    expect(Object.isFrozen(second[1])).toBe(true);
    t.clock.now = undefined;
  });

  it("ends all, all but one, or one device's sessions of a user, and nobody else's", async () => {
    const userId = crypto.randomUUID();
    const phone = crypto.randomUUID();
    const keep = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    const onPhone = await t.services.sessions.createSession({ ...newSession(userId), deviceId: phone }, UNCAPPED);
    const other = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    const stranger = await t.services.sessions.createSession(newSession(), UNCAPPED);
    expect(await t.services.sessions.deleteUserSessions(userId, { deviceId: phone })).toEqual([onPhone.session.id]);
    expect(await t.services.sessions.deleteUserSessions(userId, { except: keep.session.id })).toEqual([other.session.id]);
    expect(await t.services.sessions.validateSessionToken(keep.token)).not.toBeNull();
    expect(await t.services.sessions.deleteUserSessions(userId)).toEqual([keep.session.id]);
    expect(await t.services.sessions.listUserSessions(userId)).toEqual([]);
    expect(await t.services.sessions.validateSessionToken(stranger.token)).not.toBeNull();
  });

  it("session cap, reject: the sign-in over the limit fails and names the limit", async () => {
    const userId = crypto.randomUUID();
    const cap = { limit: 2, policy: "reject" as const };
    await t.services.sessions.createSession(newSession(userId), cap);
    await t.services.sessions.createSession(newSession(userId), cap);
    const third = t.services.sessions.createSession(newSession(userId), cap);
    await expect(third).rejects.toBeInstanceOf(SessionLimitError);
    await expect(third).rejects.toThrow("Already 2 sessions active");
    expect(await t.services.sessions.listUserSessions(userId)).toHaveLength(2);
  });

  it("session cap, evict-oldest: the least recently used session makes room", async () => {
    const start = Date.now();
    t.clock.now = start;
    const userId = crypto.randomUUID();
    const cap = { limit: 2, policy: "evict-oldest" as const };
    const first = await t.services.sessions.createSession(newSession(userId), cap);
    t.clock.now = start + 1_000;
    const second = await t.services.sessions.createSession(newSession(userId), cap);
    t.clock.now = start + 2_000;
    await t.services.sessions.validateSessionToken(first.token); // first is used again: second is now the LRU
    t.clock.now = start + 3_000;
    const third = await t.services.sessions.createSession(newSession(userId), cap);
    expect(third.evicted).toEqual([second.session.id]);
    expect(await t.services.sessions.validateSessionToken(second.token)).toBeNull();
    expect((await t.services.sessions.listUserSessions(userId)).map((s) => s.id).sort()).toEqual([first.session.id, third.session.id].sort());
    t.clock.now = undefined;
  });

  it("evict-oldest with another instance's session it has not seen: still the least recently used one goes", async () => {
    const start = Date.now();
    t.clock.now = start;
    const userId = crypto.randomUUID();
    const elsewhere = new SessionStore(
      t.services.redis.raw,
      t.env.REDIS_PREFIX,
      { idleTimeoutMs: 60 * MINUTE, absoluteLifetimeMs: 30 * DAY, tokenIdleTimeoutMs: 7 * DAY },
      () => start + 1_000,
    );
    const cap = { limit: 3, policy: "evict-oldest" as const };
    const first = await t.services.sessions.createSession(newSession(userId), cap);
    const second = await t.services.sessions.createSession(newSession(userId), cap);
    // This process remembers [first, second]; the other instance adds one it never hears of.
    const theirs = await elsewhere.createSession(newSession(userId), cap);
    t.clock.now = start + 2_000;
    await t.services.sessions.validateSessionToken(first.token);
    await t.services.sessions.validateSessionToken(second.token);
    t.clock.now = start + 3_000;
    const fourth = await t.services.sessions.createSession(newSession(userId), cap);
    expect(fourth.evicted).toEqual([theirs.session.id]);
    expect((await t.services.sessions.listUserSessions(userId)).map((s) => s.id).sort()).toEqual(
      [first.session.id, second.session.id, fourth.session.id].sort(),
    );
    t.clock.now = undefined;
  });

  it("evict-oldest with 6 instances signing one user in at once (20 each) at the cap: every sign-in lands, the cap holds", async () => {
    const userId = crypto.randomUUID();
    const cap = { limit: 3, policy: "evict-oldest" as const };
    const instances = Array.from(
      { length: 6 },
      () =>
        new SessionStore(t.services.redis.raw, t.env.REDIS_PREFIX, { idleTimeoutMs: 60 * MINUTE, absoluteLifetimeMs: 30 * DAY, tokenIdleTimeoutMs: 7 * DAY }),
    );
    // Each instance has seen the user's sessions before: its ids are a hint from then on.
    await Promise.all(instances.map((store) => store.createSession(newSession(userId), cap)));
    const results = await Promise.allSettled(instances.flatMap((store) => Array.from({ length: 20 }, () => store.createSession(newSession(userId), cap))));
    expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect(await t.services.sessions.listUserSessions(userId)).toHaveLength(3);
  });

  it("a session's creation sets the fresh-authentication mark and the keys it is given in the same script, only of the user's slot", async () => {
    const userId = crypto.randomUUID();
    const version = t.services.deviceCache.invalidation(userId);
    const { session } = await t.services.sessions.createSession(newSession(userId), UNCAPPED, {}, { freshForMs: 5 * MINUTE, writes: [version] });
    expect(await t.services.sessions.recentlyAuthenticated(session.id, 5 * MINUTE)).toBe(true);
    expect(await t.services.redis.redis.get(version.key)).toBe(version.value);
    const ttl = await t.services.redis.redis.pttl(version.key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(version.px);
    const plain = await t.services.sessions.createSession(newSession(userId), UNCAPPED);
    expect(await t.services.sessions.recentlyAuthenticated(plain.session.id, 5 * MINUTE)).toBe(false);
    const elsewhere = t.services.deviceCache.invalidation(crypto.randomUUID());
    await expect(t.services.sessions.createSession(newSession(userId), UNCAPPED, {}, { writes: [elsewhere] })).rejects.toThrow("user's slot");
    expect(await t.services.sessions.listUserSessions(userId)).toHaveLength(2);
  });

  it.each(["reject", "evict-oldest"] as const)("50 concurrent sign-ins never leave more than the limit alive (%s)", async (policy) => {
    const userId = crypto.randomUUID();
    const cap = { limit: 5, policy };
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => t.services.sessions.createSession(newSession(userId), cap)));
    const created = results.filter((r) => r.status === "fulfilled");
    const alive = await t.services.sessions.listUserSessions(userId);
    expect(alive).toHaveLength(5);
    expect(await t.services.redis.redis.zcard(userSessionsKey(t.env.REDIS_PREFIX, userId))).toBe(5);
    if (policy === "reject") {
      expect(created).toHaveLength(5);
      expect(results.filter((r) => r.status === "rejected" && r.reason instanceof SessionLimitError)).toHaveLength(45);
    } else {
      expect(created).toHaveLength(50);
      const evicted = created.flatMap((r) => (r.status === "fulfilled" ? r.value.evicted : []));
      expect(evicted).toHaveLength(45);
    }
  });

  describe("token sessions (bearer clients)", () => {
    const tokenSession = (userId = crypto.randomUUID()): NewSession => ({ ...newSession(userId), method: "token" });

    it("rotates the refresh token atomically: the new one works, the old one is reuse and ends the session", async () => {
      const { token, session } = await t.services.sessions.createSession(tokenSession(), UNCAPPED);
      // A token session is never a cookie session.
      expect(await t.services.sessions.validateSessionToken(token)).toBeNull();
      const jti = crypto.randomUUID();
      expect(await t.services.sessions.validateTokenSession(session.id, jti)).toMatchObject({ id: session.id, method: "token" });
      const rotated = await t.services.sessions.rotateRefreshToken(token);
      expect(rotated).toMatchObject({ outcome: "ok", session: { id: session.id } });
      if (rotated.outcome !== "ok") throw new Error("not rotated");
      expect(await t.services.sessions.rotateRefreshToken(`${session.id}.${"A".repeat(43)}`)).toEqual({ outcome: "invalid" });
      expect(await t.services.sessions.rotateRefreshToken(token)).toEqual({ outcome: "reused", sessionId: session.id, userId: session.userId });
      expect(await t.services.sessions.validateTokenSession(session.id, jti)).toBeNull();
      expect(await t.services.sessions.rotateRefreshToken(rotated.token)).toEqual({ outcome: "invalid" });
      expect(await t.services.sessions.listUserSessions(session.userId)).toEqual([]);
    });

    it("a cookie session's token is not a refresh token, and its id is not a bearer session", async () => {
      const { token, session } = await t.services.sessions.createSession(newSession(), UNCAPPED);
      expect(await t.services.sessions.rotateRefreshToken(token)).toEqual({ outcome: "invalid" });
      expect(await t.services.sessions.validateTokenSession(session.id, "jti")).toBeNull();
      expect(await t.services.sessions.validateSessionToken(token)).not.toBeNull();
    });

    it("a denied jti is refused until its expiry; the session stays", async () => {
      const { session } = await t.services.sessions.createSession(tokenSession(), UNCAPPED);
      await t.services.sessions.denyAccessToken(session.id, "jti-1", Date.now() + 60_000);
      expect(await t.services.sessions.validateTokenSession(session.id, "jti-1")).toBeNull();
      expect(await t.services.sessions.validateTokenSession(session.id, "jti-2")).not.toBeNull();
    });

    it("30 concurrent rotations of one refresh token: exactly one succeeds", async () => {
      const { token } = await t.services.sessions.createSession(tokenSession(), UNCAPPED);
      const results = await Promise.all(Array.from({ length: 30 }, () => t.services.sessions.rotateRefreshToken(token)));
      expect(results.filter((r) => r.outcome === "ok")).toHaveLength(1);
      expect(results.filter((r) => r.outcome === "reused")).toHaveLength(1);
      expect(results.filter((r) => r.outcome === "invalid")).toHaveLength(28);
    });
  });
});
