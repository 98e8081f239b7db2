import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouterOutputs } from "~/trpc/types";
import { FIREFOX_LINUX, IPHONE, LONDON, MOUNTAIN_VIEW, PASSWORD } from "~/test/fixtures";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { userKey } from "~/server/platform/redis/keys";

type SessionList = RouterOutputs["sessions"]["list"];
type FeedEvent = { type: string; [key: string]: unknown };

/** The next event of a subscription called through the server caller (tracked: [id, data]). */
async function nextEvent(feed: AsyncIterator<unknown>): Promise<FeedEvent | undefined> {
  const { value, done } = await feed.next();
  if (done) return undefined;
  return (Array.isArray(value) ? value[1] : value) as FeedEvent;
}
type DeviceList = RouterOutputs["devices"]["list"];

describe("sessions and devices (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;

  beforeAll(async () => {
    // TRUST_PROXY so tests can stand for public IPs with X-Forwarded-For.
    t = await createTestServices({ TRUST_PROXY: "true", SESSION_LIMIT: "0" });
  });
  afterAll(() => t.close());

  const device = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  async function signedInPair() {
    const email = uniqueEmail();
    const laptop = device(LONDON);
    const phone = device(MOUNTAIN_VIEW, IPHONE);
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    expect((await phone.mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
    return { email, laptop, phone, userId: reg.data!.user.id };
  }

  it("sessions.list: every live session with device, IP and place; this one first", async () => {
    const { laptop } = await signedInPair();
    const list = (await laptop.query<SessionList>("sessions.list")).data!;
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({
      current: true,
      method: "password",
      ip: LONDON,
      location: "London, United Kingdom",
      device: { browser: "Chrome", os: "macOS", deviceType: "desktop" },
    });
    expect(list[1]).toMatchObject({
      current: false,
      ip: MOUNTAIN_VIEW,
      location: "Mountain View, United States",
      device: { browser: "Mobile Safari", deviceType: "mobile" },
    });
    for (const s of list) {
      expect(s.lastSeenAt).toBeInstanceOf(Date);
      expect(s.idleExpiresAt.getTime()).toBeGreaterThan(s.lastSeenAt.getTime());
    }
  });

  it("private and loopback addresses show as Local network", async () => {
    const b = device("192.168.1.20");
    await b.mutation("auth.register", { email: uniqueEmail(), password: PASSWORD });
    expect((await b.query<SessionList>("sessions.list")).data![0]!.location).toBe("Local network");
  });

  it("sessions.revoke ends another session at once; it is rejected on its very next request", async () => {
    const { laptop, phone } = await signedInPair();
    const phoneSession = (await laptop.query<SessionList>("sessions.list")).data!.find((s) => !s.current)!;
    expect((await laptop.mutation("sessions.revoke", { sessionId: phoneSession.id })).data).toEqual({ ok: true, current: false });
    expect((await phone.query("auth.me")).error?.data.code).toBe("UNAUTHORIZED");
    expect((await laptop.query<SessionList>("sessions.list")).data!.map((s) => s.current)).toEqual([true]);
    // Already gone: NOT_FOUND.
    expect((await laptop.mutation("sessions.revoke", { sessionId: phoneSession.id })).error?.data.code).toBe("NOT_FOUND");
  });

  it("revoking the current session signs this device out", async () => {
    const { laptop } = await signedInPair();
    const own = (await laptop.query<SessionList>("sessions.list")).data!.find((s) => s.current)!;
    const res = await laptop.mutation("sessions.revoke", { sessionId: own.id });
    expect(res.data).toEqual({ ok: true, current: true });
    expect(res.headers.getSetCookie().some((c) => c.startsWith("handoff_session=;"))).toBe(true);
    expect((await laptop.query("auth.me")).status).toBe(401);
  });

  it("sessions.revokeOthers ends all but the current one and returns the count", async () => {
    const { email, laptop, phone } = await signedInPair();
    const third = device("1.1.1.1", FIREFOX_LINUX);
    await third.mutation("auth.login", { email, password: PASSWORD });
    expect((await laptop.mutation("sessions.revokeOthers")).data).toEqual({ count: 2 });
    expect((await phone.query("auth.me")).status).toBe(401);
    expect((await third.query("auth.me")).status).toBe(401);
    expect((await laptop.query("auth.me")).status).toBe(200);
    expect((await laptop.mutation("sessions.revokeOthers")).data).toEqual({ count: 0 });
  });

  it("user A can never see or end user B's sessions", async () => {
    const a = await signedInPair();
    const b = await signedInPair();
    const bSessions = (await b.laptop.query<SessionList>("sessions.list")).data!;
    for (const s of bSessions) {
      const res = await a.laptop.mutation("sessions.revoke", { sessionId: s.id });
      expect(res.error?.data.code).toBe("NOT_FOUND");
      expect(res.error?.message).not.toContain(b.email);
    }
    const aIds = (await a.laptop.query<SessionList>("sessions.list")).data!.map((s) => s.id);
    expect(aIds.some((id) => bSessions.some((s) => s.id === id))).toBe(false);
    expect((await b.phone.query("auth.me")).status).toBe(200);
    const bDevices = (await b.laptop.query<DeviceList>("devices.list")).data!;
    expect((await a.laptop.mutation("devices.forget", { deviceId: bDevices[0]!.id })).error?.data.code).toBe("NOT_FOUND");
    expect((await a.laptop.mutation("devices.rename", { deviceId: bDevices[0]!.id, name: "mine now" })).error?.data.code).toBe("NOT_FOUND");
    const aHistory = (await a.laptop.query<RouterOutputs["sessions"]["history"]>("sessions.history")).data!;
    expect(aHistory.items.every((e) => !bDevices.some((d) => d.id === e.device.id))).toBe(true);
  });

  it("emergency lockout: a wrong password ends nothing; the right one ends everything, this session too", async () => {
    const { laptop, phone, userId } = await signedInPair();
    const wrong = await laptop.mutation("sessions.lockout", { password: "not it" });
    expect(wrong.error?.data.code).toBe("UNAUTHORIZED");
    expect((await phone.query("auth.me")).status).toBe(200);
    expect((await laptop.query("auth.me")).status).toBe(200);

    const res = await laptop.mutation("sessions.lockout", { password: PASSWORD });
    expect(res.data).toEqual({ ok: true, count: 2 });
    expect((await phone.query("auth.me")).status).toBe(401);
    expect((await laptop.query("auth.me")).status).toBe(401);
    // (The phone's sign-in from Mountain View seconds after London's was also flagged as impossible travel.)
    const events = await t.services.db.securityEvent.findMany({ where: { userId, type: { startsWith: "lockout" } }, orderBy: { createdAt: "asc" } });
    expect(events.map((e) => e.type)).toEqual(["lockout_failed", "lockout"]);
  });

  it("sessions.history: newest first, paged by cursor, with device, IP, place, method, outcome", async () => {
    const { email, laptop } = await signedInPair();
    await device("1.1.1.1").mutation("auth.login", { email, password: "wrong password" });
    const seen: RouterOutputs["sessions"]["history"]["items"] = [];
    let cursor: string | null | undefined;
    do {
      const page = (await laptop.query<RouterOutputs["sessions"]["history"]>("sessions.history", { cursor, limit: 2 })).data!;
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((e) => [e.outcome, e.ip, e.method])).toEqual([
      ["failure", "1.1.1.1", "password"],
      ["success", MOUNTAIN_VIEW, "password"],
      ["success", LONDON, "password"],
    ]);
    expect(seen[0]).toMatchObject({ reason: "wrong_password", location: "Sydney, Australia" });
    expect(seen[1]!.device).toMatchObject({ browser: "Mobile Safari", deviceType: "mobile" });
    expect((await laptop.query("sessions.history", { limit: 0 })).error?.data.code).toBe("BAD_REQUEST");
    expect((await laptop.query("sessions.history", { cursor: "not-a-uuid" })).error?.data.code).toBe("BAD_REQUEST");
    // A cursor that is no event of this user's: an empty page, not an error.
    const stranger = await laptop.query<RouterOutputs["sessions"]["history"]>("sessions.history", { cursor: crypto.randomUUID() });
    expect(stranger.status).toBe(200);
  });

  it("devices.list: each device with activity, session count and the IPs it used", async () => {
    const { email, laptop, phone } = await signedInPair();
    // The phone signs in again from another network.
    const samePhone = device(LONDON, IPHONE);
    samePhone.cookies = new Map(phone.cookies);
    await samePhone.mutation("auth.login", { email, password: PASSWORD });
    const devices = (await laptop.query<DeviceList>("devices.list")).data!;
    expect(devices).toHaveLength(2);
    expect(devices[0]).toMatchObject({
      current: true,
      active: true,
      activeSessions: 1,
      browser: "Chrome",
      ips: [{ address: LONDON, location: "London, United Kingdom" }],
    });
    expect(devices[1]).toMatchObject({ current: false, active: true, activeSessions: 1, deviceType: "mobile" });
    expect(devices[1]!.ips.map((i) => i.address).sort()).toEqual([LONDON, MOUNTAIN_VIEW].sort());

    await laptop.mutation("sessions.revokeOthers");
    const after = (await laptop.query<DeviceList>("devices.list")).data!;
    expect(after[1]).toMatchObject({ active: false, activeSessions: 0 });
  });

  it("devices.rename and devices.forget; a forgotten device's next sign-in is a new device", async () => {
    const { email, laptop, phone } = await signedInPair();
    const phoneDevice = (await laptop.query<DeviceList>("devices.list")).data!.find((d) => !d.current)!;
    expect((await laptop.mutation("devices.rename", { deviceId: phoneDevice.id, name: "  Ann's iPhone " })).data).toEqual({
      id: phoneDevice.id,
      name: "Ann's iPhone",
    });
    expect((await laptop.mutation("devices.rename", { deviceId: phoneDevice.id, name: "   " })).error?.data.fieldErrors?.name).toEqual(["A name is required"]);
    expect((await laptop.mutation("devices.rename", { deviceId: phoneDevice.id, name: "x".repeat(65) })).error?.data.code).toBe("BAD_REQUEST");

    expect((await laptop.mutation("devices.forget", { deviceId: phoneDevice.id })).data).toEqual({ ok: true, endedSessions: 1, current: false });
    expect((await phone.query("auth.me")).status).toBe(401);
    expect((await laptop.query<DeviceList>("devices.list")).data!.map((d) => d.id)).not.toContain(phoneDevice.id);

    await phone.mutation("auth.login", { email, password: PASSWORD });
    const devices = (await laptop.query<DeviceList>("devices.list")).data!;
    expect(devices).toHaveLength(2);
    expect(devices.find((d) => !d.current)!.id).not.toBe(phoneDevice.id);
  });

  it("the lists come from the device cache, yet every sign-in, rename and forget shows at once on both lists", async () => {
    const { email, laptop, phone, userId } = await signedInPair();
    const lists = async () => ({
      sessions: (await laptop.query<SessionList>("sessions.list")).data!,
      devices: (await laptop.query<DeviceList>("devices.list")).data!,
    });
    const first = await lists(); // fills the cache
    expect(await t.services.redis.redis.exists(userKey(t.env.REDIS_PREFIX, userId, "devices"))).toBe(1);
    const phoneDevice = first.devices.find((d) => !d.current)!;

    await phone.mutation("devices.rename", { deviceId: phoneDevice.id, name: "Ann's iPhone" });
    let now = await lists();
    expect(now.sessions.find((s) => !s.current)!.device.name).toBe("Ann's iPhone");
    expect(now.devices.find((d) => d.id === phoneDevice.id)!.name).toBe("Ann's iPhone");

    // A new device from a new network: its session, device row and address all show.
    const tablet = device("81.2.69.160", FIREFOX_LINUX);
    await tablet.mutation("auth.login", { email, password: PASSWORD });
    now = await lists();
    expect(now.sessions).toHaveLength(3);
    expect(now.sessions.map((s) => s.device.name)).not.toContain("Unknown device");
    const tabletDevice = now.devices.find((d) => d.browser === "Firefox")!;
    expect(tabletDevice.ips.map((i) => i.address)).toEqual(["81.2.69.160"]);
    // Signed out, the device stays listed (from the database's record of the sign-in).
    await laptop.mutation("sessions.revoke", { sessionId: now.sessions.find((s) => s.device.id === tabletDevice.id)!.id });
    now = await lists();
    expect(now.devices.find((d) => d.id === tabletDevice.id)).toMatchObject({ active: false, ips: [{ address: "81.2.69.160" }] });

    await laptop.mutation("devices.forget", { deviceId: tabletDevice.id });
    now = await lists();
    expect(now.devices.map((d) => d.id)).not.toContain(tabletDevice.id);
    expect(now.sessions).toHaveLength(2);
    expect(now.devices).toHaveLength(2);
  });

  it("sessions.onEvent pushes sign-ins and revocations; a revoked page is told and the stream ends", async () => {
    const { email, laptop, phone } = await signedInPair();
    const phoneSessionId = (await phone.query<{ session: { id: string } }>("auth.me")).data!.session.id;
    const laptopFeed = await (await laptop.caller()).sessions.onEvent();
    const phoneFeed = await (await phone.caller()).sessions.onEvent();
    const laptopEvents = laptopFeed[Symbol.asyncIterator]();
    const phoneEvents = phoneFeed[Symbol.asyncIterator]();

    // A page's feed starts when it is first read, as an SSE stream does when it opens.
    const firstLaptopEvent = nextEvent(laptopEvents);
    const firstPhoneEvent = nextEvent(phoneEvents);
    await new Promise((r) => setTimeout(r, 100));
    const tablet = device("1.1.1.1", FIREFOX_LINUX);
    await tablet.mutation("auth.login", { email, password: PASSWORD });
    const signedIn = await firstLaptopEvent;
    expect(signedIn).toMatchObject({ type: "signed_in", ip: "1.1.1.1", location: "Sydney, Australia", method: "password" });

    await laptop.mutation("sessions.revoke", { sessionId: phoneSessionId });
    const started = Date.now();
    // The phone's own stream first sees the tablet's sign-in, then its own end.
    let event = await firstPhoneEvent;
    while (event && event.type !== "revoked") event = await nextEvent(phoneEvents);
    expect(event).toMatchObject({ type: "revoked", reason: "revoked", sessionIds: [phoneSessionId] });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await phoneEvents.next()).done).toBe(true);
    await laptopEvents.return?.(undefined);
  });

  it("sessions.onEvent from a page's feed position replays what happened before the stream opened", async () => {
    const email = uniqueEmail();
    const laptop = device("8.8.8.8");
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    // What the dashboard reads while rendering, before its queries run and its stream opens.
    const liveFrom = await t.services.events.currentSeq(reg.data!.user.id);
    // A sign-in lands in the gap between the page's queries and the stream's start.
    await device("1.1.1.1", FIREFOX_LINUX).mutation("auth.login", { email, password: PASSWORD });
    const feed = (await (await laptop.caller()).sessions.onEvent({ lastEventId: String(liveFrom) }))[Symbol.asyncIterator]();
    expect(await nextEvent(feed)).toMatchObject({ type: "signed_in", ip: "1.1.1.1" });
    await feed.return?.(undefined);
    // Without a position the stream starts at the feed's end: the same sign-in is not replayed.
    const fromNow = (await (await laptop.caller()).sessions.onEvent())[Symbol.asyncIterator]();
    const next = nextEvent(fromNow);
    await new Promise((r) => setTimeout(r, 100));
    await laptop.mutation("sessions.revokeOthers");
    expect(await next).toMatchObject({ type: "revoked", reason: "revoked_others" });
    await fromNow.return?.(undefined);
    await expect((await laptop.caller()).sessions.onEvent({ lastEventId: "-1" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("sessions.onEvent needs a session", async () => {
    const anonymous = await new TestBrowser(t.services).caller();
    await expect(anonymous.sessions.onEvent()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });
});

describe("session cap (SESSION_LIMIT, SESSION_LIMIT_POLICY)", () => {
  it("reject: the sign-in over the limit is refused, named, logged as blocked, and a security event", async () => {
    const t = await createTestServices({ SESSION_LIMIT: "2", SESSION_LIMIT_POLICY: "reject" });
    try {
      const email = uniqueEmail();
      const reg = await new TestBrowser(t.services).mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
      expect((await new TestBrowser(t.services).mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
      const third = await new TestBrowser(t.services).mutation("auth.login", { email, password: PASSWORD });
      expect(third.status).toBe(429);
      expect(third.error?.data.code).toBe("TOO_MANY_REQUESTS");
      expect(third.error?.message).toMatch(/^Already 2 sessions active/);
      const last = await t.services.db.loginEvent.findFirst({ where: { userId: reg.data!.user.id }, orderBy: { createdAt: "desc" } });
      expect(last).toMatchObject({ outcome: "blocked", reason: "session_limit" });
      expect(await t.services.db.securityEvent.count({ where: { userId: reg.data!.user.id, type: "session_limit_rejected" } })).toBe(1);
    } finally {
      await t.close();
    }
  });

  it("evict-oldest: the least recently used session ends and its page is told", async () => {
    const t = await createTestServices({ SESSION_LIMIT: "2", SESSION_LIMIT_POLICY: "evict-oldest" });
    try {
      const email = uniqueEmail();
      const first = new TestBrowser(t.services);
      await first.mutation("auth.register", { email, password: PASSWORD });
      const second = new TestBrowser(t.services);
      await second.mutation("auth.login", { email, password: PASSWORD });
      await second.query("auth.me"); // second is used after first: first is the least recently used
      const feed = (await (await second.caller()).sessions.onEvent())[Symbol.asyncIterator]();
      const firstEvent = nextEvent(feed);
      await new Promise((r) => setTimeout(r, 100));
      const third = new TestBrowser(t.services);
      expect((await third.mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
      expect((await first.query("auth.me")).status).toBe(401);
      expect((await second.query("auth.me")).status).toBe(200);
      const events = [await firstEvent, await nextEvent(feed)];
      expect(events.map((e) => e?.type)).toEqual(["revoked", "signed_in"]);
      expect(events[0]).toMatchObject({ reason: "evicted" });
      await feed.return?.(undefined);
    } finally {
      await t.close();
    }
  });

  it("50 concurrent sign-ins over HTTP for one user never leave more than the limit alive", async () => {
    const t = await createTestServices({ SESSION_LIMIT: "5", SESSION_LIMIT_POLICY: "reject" });
    try {
      const email = uniqueEmail();
      const reg = await new TestBrowser(t.services).mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
      const results = await Promise.all(Array.from({ length: 50 }, () => new TestBrowser(t.services).mutation("auth.login", { email, password: PASSWORD })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(4); // + the registration's session = 5
      expect(results.filter((r) => r.status === 429)).toHaveLength(46);
      expect(await t.services.sessions.listUserSessions(reg.data!.user.id)).toHaveLength(5);
    } finally {
      await t.close();
    }
  });
});
