import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HandoffStore } from "~/server/handoff/store";
import { FIREFOX_LINUX, IPHONE, LONDON, PASSWORD, SYDNEY } from "~/test/fixtures";
import { clearOfMinuteBoundary, createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import type { RouterOutputs } from "~/trpc/types";

const LONDON_SAME_NET = "81.2.69.150";

type Started = RouterOutputs["handoff"]["start"];
type State = { status: string; [key: string]: unknown };

const tokenOf = (qrUrl: string) => qrUrl.split("/").pop()!;

/** Reads the tracked payload of the next subscription event ([id, data] through the caller). */
async function next(feed: AsyncIterator<unknown>): Promise<State | undefined> {
  const { value, done } = await feed.next();
  if (done) return undefined;
  return (Array.isArray(value) ? value[1] : value) as State;
}

async function nextStatus(feed: AsyncIterator<unknown>, status: string): Promise<State> {
  for (;;) {
    const state = await next(feed);
    if (!state) throw new Error(`stream ended before ${status}`);
    if (state.status === status) return state;
  }
}

describe("QR handoff (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const browser = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({ TRUST_PROXY: "true", HANDOFF_RATE_LIMIT: "1000", HANDOFF_POLL_MS: "50", SESSION_LIMIT: "0" });
  });
  afterAll(() => t.close());

  async function signedInPhone(ip = LONDON) {
    const email = uniqueEmail();
    const phone = browser(ip, IPHONE);
    const reg = await phone.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    return { email, phone, userId: reg.data!.user.id };
  }

  it("flow A: the new device shows a QR, the phone inspects and approves, the new device gets its own session", async () => {
    const { phone, userId } = await signedInPhone(LONDON);
    const desk = browser(SYDNEY, FIREFOX_LINUX);
    const started = (await desk.mutation<Started>("handoff.start")).data!;
    expect(started.qrUrl).toMatch(/^http:\/\/localhost:3000\/handoff\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(started.expiresAt.getTime() - Date.now()).toBeGreaterThan(100_000);
    expect(desk.cookies.get("handoff_pending")).toMatch(new RegExp(`^${started.id}\\.`));

    const feed = (await (await desk.caller()).handoff.watch({ id: started.id }))[Symbol.asyncIterator]();
    expect((await next(feed))?.status).toBe("pending");

    const inspected = await phone.mutation<RouterOutputs["handoff"]["inspect"]>("handoff.inspect", { token: tokenOf(started.qrUrl) });
    expect(inspected.data).toMatchObject({
      kind: "signin",
      status: "scanned",
      recipient: { browser: "Firefox", os: "Linux", deviceType: "desktop", ip: SYDNEY, location: "Sydney, Australia" },
    });
    expect(inspected.data!.warnings.map((w) => w.code).sort()).toEqual(["different_country", "different_network"]);
    expect((await nextStatus(feed, "scanned")).recipient).toMatchObject({ ip: SYDNEY });

    // Not approved yet: nothing to collect.
    expect((await desk.mutation("handoff.complete", { id: started.id })).error?.message).toMatch(/Not approved yet/);

    expect((await phone.mutation("handoff.approve", { token: tokenOf(started.qrUrl) })).data).toMatchObject({ status: "approved" });
    await nextStatus(feed, "approved");
    const done = await desk.mutation("handoff.complete", { id: started.id });
    expect(done.data).toMatchObject({ status: "signed_in", user: { id: userId } });
    expect((await nextStatus(feed, "completed")).status).toBe("completed");
    expect(await next(feed)).toBeUndefined();

    const deskMe = (await desk.query<{ session: { id: string; method: string } }>("auth.me")).data!;
    const phoneMe = (await phone.query<{ session: { id: string } }>("auth.me")).data!;
    expect(deskMe.session.method).toBe("qr");
    expect(deskMe.session.id).not.toBe(phoneMe.session.id);
    expect(desk.cookies.has("handoff_pending")).toBe(false);

    const devices = (await phone.query<RouterOutputs["devices"]["list"]>("devices.list")).data!;
    expect(devices.map((d) => d.browser).sort()).toEqual(["Firefox", "Mobile Safari"]);
    const event = await t.services.db.loginEvent.findFirst({ where: { userId, method: "qr" } });
    expect(event).toMatchObject({ outcome: "success", ip: SYDNEY });
    expect(await t.services.db.securityEvent.count({ where: { userId, type: { in: ["handoff_approved", "handoff_completed"] } } })).toBe(2);

    // Used: the same QR is no longer valid anywhere.
    expect((await phone.mutation("handoff.inspect", { token: tokenOf(started.qrUrl) })).error?.message).toBe("This QR code is no longer valid");
    expect((await desk.mutation("handoff.complete", { id: started.id })).error?.message).toBe("This QR code is no longer valid");
  });

  it("no warning when the requester is on the phone's network", async () => {
    const { phone } = await signedInPhone(LONDON);
    const desk = browser(LONDON_SAME_NET, FIREFOX_LINUX);
    const started = (await desk.mutation<Started>("handoff.start")).data!;
    const inspected = await phone.mutation<RouterOutputs["handoff"]["inspect"]>("handoff.inspect", { token: tokenOf(started.qrUrl) });
    expect(inspected.data!.warnings).toEqual([]);
  });

  it("the QR token alone yields no session: only the browser that showed it can collect", async () => {
    const { phone } = await signedInPhone();
    const desk = browser(SYDNEY, FIREFOX_LINUX);
    const started = (await desk.mutation<Started>("handoff.start")).data!;
    await phone.mutation("handoff.inspect", { token: tokenOf(started.qrUrl) });
    await phone.mutation("handoff.approve", { token: tokenOf(started.qrUrl) });

    const attacker = browser(SYDNEY, FIREFOX_LINUX);
    expect((await attacker.mutation("handoff.complete", { id: started.id })).error).toMatchObject({
      message: "This QR code is no longer valid",
      data: { code: "BAD_REQUEST" },
    });
    attacker.cookies.set("handoff_pending", `${started.id}.${"A".repeat(43)}`);
    expect((await attacker.mutation("handoff.complete", { id: started.id })).error?.data.code).toBe("BAD_REQUEST");
    expect((await attacker.query("auth.me")).status).toBe(401);
    // The attacker cannot watch it either.
    await expect((await attacker.caller()).handoff.watch({ id: started.id }).then((it) => it[Symbol.asyncIterator]().next())).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    // The real browser still can.
    expect((await desk.mutation("handoff.complete", { id: started.id })).status).toBe(200);
  });

  it("deny: the new device is told, and the code is dead", async () => {
    const { phone, userId } = await signedInPhone();
    const desk = browser(SYDNEY, FIREFOX_LINUX);
    const started = (await desk.mutation<Started>("handoff.start")).data!;
    const feed = (await (await desk.caller()).handoff.watch({ id: started.id }))[Symbol.asyncIterator]();
    await next(feed);
    await phone.mutation("handoff.inspect", { token: tokenOf(started.qrUrl) });
    expect((await phone.mutation("handoff.deny", { token: tokenOf(started.qrUrl) })).data).toMatchObject({ status: "denied" });
    await nextStatus(feed, "denied");
    expect(await next(feed)).toBeUndefined();
    expect((await desk.mutation("handoff.complete", { id: started.id })).error?.message).toBe("This QR code is no longer valid");
    expect((await phone.mutation("handoff.approve", { token: tokenOf(started.qrUrl) })).error?.message).toBe("This QR code is no longer valid");
    expect(await t.services.db.loginEvent.findFirst({ where: { userId, method: "qr" } })).toMatchObject({
      outcome: "blocked",
      reason: "handoff_denied",
      ip: SYDNEY,
    });
  });

  it("wrong user: only the phone that scanned first decides", async () => {
    const first = await signedInPhone();
    const second = await signedInPhone();
    const desk = browser(SYDNEY, FIREFOX_LINUX);
    const started = (await desk.mutation<Started>("handoff.start")).data!;
    await first.phone.mutation("handoff.inspect", { token: tokenOf(started.qrUrl) });
    expect((await second.phone.mutation("handoff.inspect", { token: tokenOf(started.qrUrl) })).error?.message).toBe("This QR code is no longer valid");
    expect((await second.phone.mutation("handoff.approve", { token: tokenOf(started.qrUrl) })).error?.message).toBe("This QR code is no longer valid");
    // Approving without inspecting first is refused too.
    const other = (await browser(SYDNEY).mutation<Started>("handoff.start")).data!;
    expect((await first.phone.mutation("handoff.approve", { token: tokenOf(other.qrUrl) })).error?.message).toBe("This QR code is no longer valid");
    // Tampered tokens are invalid, never a 500.
    for (const bad of ["", "x", `${started.id}.${"B".repeat(43)}`, "a.b.c", "💥".repeat(40)]) {
      const res = await first.phone.mutation("handoff.inspect", { token: bad });
      expect(res.error?.data.code, bad).toBe("BAD_REQUEST");
    }
  });

  it("flow B: the signed-in device offers, another device claims and waits, the offerer approves", async () => {
    const { phone: laptop, userId } = await signedInPhone(LONDON);
    const offer = (await laptop.mutation<RouterOutputs["handoff"]["offer"]>("handoff.offer")).data!;
    expect(offer.qrUrl).toMatch(/^http:\/\/localhost:3000\/continue\//);
    const ownerFeed = (await (await laptop.caller()).handoff.watch({ id: offer.id }))[Symbol.asyncIterator]();
    expect((await next(ownerFeed))?.status).toBe("pending");

    const tablet = browser(SYDNEY, FIREFOX_LINUX);
    const claimed = await tablet.mutation<RouterOutputs["handoff"]["claim"]>("handoff.claim", { token: tokenOf(offer.qrUrl) });
    expect(claimed.data).toMatchObject({ id: offer.id, status: "scanned", kind: "offer" });
    expect(claimed.data).not.toHaveProperty("browserSecret");
    // The claimant learns the offering device's name, never its IP or place.
    expect(claimed.data!.owner).toEqual({ name: "Mobile Safari on iOS 17" });
    const seen = await nextStatus(ownerFeed, "scanned");
    expect(seen).toMatchObject({ recipient: { browser: "Firefox", os: "Linux", ip: SYDNEY, location: "Sydney, Australia" } });
    expect((seen.warnings as { code: string }[]).map((w) => w.code).sort()).toEqual(["different_country", "different_network"]);

    const waiting = (await (await tablet.caller()).handoff.watch({ id: offer.id }))[Symbol.asyncIterator]();
    expect((await next(waiting))?.status).toBe("scanned");
    await laptop.mutation("handoff.approve", { token: tokenOf(offer.qrUrl) });
    await nextStatus(waiting, "approved");
    expect((await tablet.mutation("handoff.complete", { id: offer.id })).data).toMatchObject({ status: "signed_in", user: { id: userId } });
    expect((await tablet.query<{ session: { method: string } }>("auth.me")).data!.session.method).toBe("qr");
    await nextStatus(ownerFeed, "completed");
    // The offering device keeps its own session.
    expect((await laptop.query("auth.me")).status).toBe(200);
  });

  it("one-time under races: 20 devices claim one offer, exactly one wins; 20 completes give one session", async () => {
    const { phone: laptop, userId } = await signedInPhone();
    const offer = (await laptop.mutation<RouterOutputs["handoff"]["offer"]>("handoff.offer")).data!;
    const claimants = Array.from({ length: 20 }, (_, i) => browser(`203.0.113.${i + 1}`, FIREFOX_LINUX));
    const claims = await Promise.all(claimants.map((c) => c.mutation("handoff.claim", { token: tokenOf(offer.qrUrl) })));
    const winners = claims.map((r, i) => [r, claimants[i]!] as const).filter(([r]) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(claims.filter((r) => r.error?.message === "This QR code is no longer valid")).toHaveLength(19);

    await laptop.mutation("handoff.approve", { token: tokenOf(offer.qrUrl) });
    const winner = winners[0]![1];
    // The winner's cookie copied into 20 racing requests: one session, no more.
    const racers = Array.from({ length: 20 }, () => {
      const b = browser("203.0.113.99", FIREFOX_LINUX);
      b.cookies = new Map(winner.cookies);
      return b;
    });
    const completes = await Promise.all(racers.map((b) => b.mutation("handoff.complete", { id: offer.id })));
    expect(completes.filter((r) => r.status === 200)).toHaveLength(1);
    expect(completes.filter((r) => r.error?.message === "This QR code is no longer valid")).toHaveLength(19);
    expect((await t.services.sessions.listUserSessions(userId)).filter((s) => s.method === "qr")).toHaveLength(1);
  });

  it("one-time under races: 20 phones inspect one QR, exactly one becomes the approver", async () => {
    const phones = await Promise.all(Array.from({ length: 20 }, () => signedInPhone()));
    const started = (await browser(SYDNEY).mutation<Started>("handoff.start")).data!;
    const results = await Promise.all(phones.map((p) => p.phone.mutation("handoff.inspect", { token: tokenOf(started.qrUrl) })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("emergency lockout cancels the user's pending handoffs", async () => {
    const { phone: laptop } = await signedInPhone();
    const offer = (await laptop.mutation<RouterOutputs["handoff"]["offer"]>("handoff.offer")).data!;
    const tablet = browser(SYDNEY, FIREFOX_LINUX);
    await tablet.mutation("handoff.claim", { token: tokenOf(offer.qrUrl) });
    const waiting = (await (await tablet.caller()).handoff.watch({ id: offer.id }))[Symbol.asyncIterator]();
    await next(waiting);
    expect((await laptop.mutation("sessions.lockout", { password: PASSWORD })).status).toBe(200);
    await nextStatus(waiting, "cancelled");
    expect((await tablet.mutation("handoff.complete", { id: offer.id })).error?.message).toBe("This QR code is no longer valid");
  });

  it("the session cap applies when the handoff completes", async () => {
    const capped = await createTestServices({ TRUST_PROXY: "true", SESSION_LIMIT: "1", SESSION_LIMIT_POLICY: "reject", HANDOFF_POLL_MS: "50" });
    try {
      const laptop = new TestBrowser(capped.services, { headers: { "x-forwarded-for": LONDON } });
      await laptop.mutation("auth.register", { email: uniqueEmail(), password: PASSWORD });
      const offer = (await laptop.mutation<RouterOutputs["handoff"]["offer"]>("handoff.offer")).data!;
      const tablet = new TestBrowser(capped.services, { headers: { "x-forwarded-for": SYDNEY } });
      await tablet.mutation("handoff.claim", { token: tokenOf(offer.qrUrl) });
      await laptop.mutation("handoff.approve", { token: tokenOf(offer.qrUrl) });
      const res = await tablet.mutation("handoff.complete", { id: offer.id });
      expect(res.status).toBe(429);
      expect(res.error?.message).toMatch(/^Already 1 sessions active/);
    } finally {
      await capped.close();
    }
  });

  it("creating requests is rate limited per IP and per user, with a retry-after", async () => {
    const limited = await createTestServices({ TRUST_PROXY: "true", HANDOFF_RATE_LIMIT: "3" });
    try {
      await clearOfMinuteBoundary();
      const desk = new TestBrowser(limited.services, { headers: { "x-forwarded-for": SYDNEY } });
      for (let i = 0; i < 3; i++) expect((await desk.mutation("handoff.start")).status).toBe(200);
      const res = await desk.mutation("handoff.start");
      expect(res.status).toBe(429);
      expect(res.error?.data.code).toBe("TOO_MANY_REQUESTS");
      const retryAfter = (res.error?.data as { retryAfter?: number }).retryAfter!;
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(res.headers.get("retry-after")).toBe(String(retryAfter));
      expect(res.error?.message).toBe(`Too many QR codes requested. Try again in ${retryAfter} s.`);
      // Another IP is not affected.
      expect((await new TestBrowser(limited.services, { headers: { "x-forwarded-for": LONDON } }).mutation("handoff.start")).status).toBe(200);

      // Per user: the same account from changing IPs.
      const laptop = new TestBrowser(limited.services, { headers: { "x-forwarded-for": "198.51.100.1" } });
      await laptop.mutation("auth.register", { email: uniqueEmail(), password: PASSWORD });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        laptop.headers["x-forwarded-for"] = `198.51.100.${10 + i}`;
        statuses.push((await laptop.mutation("handoff.offer")).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await limited.close();
    }
  });

  it.each([
    ["real Redis", process.env.TEST_REDIS_URL ?? ""],
    ["embedded Redis", ""],
  ])("the rate limit holds under 30 concurrent requests (%s)", async (_name, redisUrl) => {
    const limited = await createTestServices({ TRUST_PROXY: "true", HANDOFF_RATE_LIMIT: "5", REDIS_URL: redisUrl });
    try {
      await clearOfMinuteBoundary();
      const results = await Promise.all(
        Array.from({ length: 30 }, () => new TestBrowser(limited.services, { headers: { "x-forwarded-for": "192.0.2.77" } }).mutation("handoff.start")),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(5);
      expect(results.filter((r) => r.status === 429)).toHaveLength(25);
    } finally {
      await limited.close();
    }
  });
});

describe.each([
  ["real Redis", process.env.TEST_REDIS_URL ?? ""],
  ["embedded Redis", ""],
])("handoff requests expire (%s)", (_name, redisUrl) => {
  it("after the TTL a token is invalid and the request is gone", async () => {
    const t = await createTestServices({ REDIS_URL: redisUrl });
    try {
      const store = new HandoffStore(t.services.redis.redis, t.env.REDIS_PREFIX, 300);
      const created = await store.create("signin", { ip: "127.0.0.1", userAgent: "x" });
      expect(await store.watch(created.id, { browserSecret: created.browserSecret })).toMatchObject({ ok: true, record: { status: "pending" } });
      await new Promise((r) => setTimeout(r, 400));
      expect(await store.bindOwner(created.token, "signin", { userId: "u", sessionId: "s", ip: "127.0.0.1", userAgent: "x" })).toEqual({
        ok: false,
        why: "gone",
      });
      expect(await store.watch(created.id, { browserSecret: created.browserSecret })).toEqual({ ok: false, why: "gone" });
      expect(await store.complete(created.id, created.browserSecret!)).toEqual({ ok: false, why: "gone" });
    } finally {
      await t.close();
    }
  });
});
