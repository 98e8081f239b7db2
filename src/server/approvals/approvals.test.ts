import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApprovalStore } from "~/server/approvals/store";
import { FIREFOX_LINUX, IPHONE, LONDON, PASSWORD, SYDNEY } from "~/test/fixtures";
import { clearOfMinuteBoundary, createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import type { RouterOutputs } from "~/trpc/types";

type Login = RouterOutputs["auth"]["login"];
type Approval = Extract<Login, { status: "approval_required" }>;
type State = { status: string; [key: string]: unknown };

/** The next event's data (a feed's events arrive tracked, as [id, data] through the caller). */
async function next(feed: AsyncIterator<unknown>): Promise<State | undefined> {
  const { value, done } = await feed.next();
  if (done) return undefined;
  return (Array.isArray(value) ? value[1] : value) as State;
}

const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

describe("new-device approval (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const browser = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({ TRUST_PROXY: "true", NEW_DEVICE_APPROVAL: "true", SESSION_LIMIT: "0", HANDOFF_POLL_MS: "50", LIVE_POLL_MS: "100" });
  });
  afterAll(() => t.close());

  async function signedIn() {
    const email = uniqueEmail();
    const laptop = browser(LONDON);
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    return { email, laptop, userId: reg.data!.user.id };
  }

  async function requestFromNewDevice(email: string, ip = SYDNEY, ua = FIREFOX_LINUX) {
    const device = browser(ip, ua);
    const res = await device.mutation<Login>("auth.login", { email, password: PASSWORD });
    expect(res.data).toMatchObject({ status: "approval_required" });
    return { device, approval: res.data as Approval };
  }

  it("a new device with the right password gets a code, not a session; the right code lets it in", async () => {
    const { email, laptop, userId } = await signedIn();
    const prompts = (await (await laptop.caller()).approvals.onRequest())[Symbol.asyncIterator]();
    const firstPrompt = next(prompts);
    await new Promise((r) => setTimeout(r, 100));

    const { device, approval } = await requestFromNewDevice(email);
    expect(approval.code).toMatch(/^\d{6}$/);
    expect(approval.expiresAt.getTime() - Date.now()).toBeGreaterThan(290_000);
    expect(approval).not.toHaveProperty("browserSecret");
    expect((await device.query("auth.me")).status).toBe(401);
    expect(device.cookies.get("handoff_approval")).toMatch(new RegExp(`^${approval.requestId}\\.`));

    // The signed-in device is told at once, and can list it.
    expect(await firstPrompt).toMatchObject({
      type: "approval_requested",
      requestId: approval.requestId,
      deviceName: "Firefox on Linux",
      ip: SYDNEY,
      location: "Sydney, Australia",
    });
    const pending = (await laptop.query<RouterOutputs["approvals"]["pending"]>("approvals.pending")).data!;
    expect(pending).toEqual([
      expect.objectContaining({
        requestId: approval.requestId,
        attemptsLeft: 5,
        device: expect.objectContaining({ browser: "Firefox", os: "Linux" }),
        location: "Sydney, Australia",
      }),
    ]);

    const waiting = (await (await device.caller()).approvals.watch({ requestId: approval.requestId }))[Symbol.asyncIterator]();
    expect((await next(waiting))?.status).toBe("pending");
    expect((await device.mutation("approvals.complete", { requestId: approval.requestId })).error?.message).toMatch(/Not approved yet/);

    const wrong = await laptop.mutation("approvals.confirm", { requestId: approval.requestId, code: wrongCode(approval.code) });
    expect(wrong.error).toMatchObject({ message: "Wrong code. 4 attempts left.", data: { code: "BAD_REQUEST" } });
    expect((await laptop.mutation("approvals.confirm", { requestId: approval.requestId, code: approval.code })).data).toMatchObject({ status: "approved" });
    expect((await next(waiting))?.status).toBe("approved");

    expect((await device.mutation("approvals.complete", { requestId: approval.requestId })).data).toMatchObject({ status: "signed_in", user: { id: userId } });
    expect((await device.query<{ session: { method: string } }>("auth.me")).data!.session.method).toBe("approval");
    expect(device.cookies.has("handoff_approval")).toBe(false);
    // One-time.
    expect((await device.mutation("approvals.complete", { requestId: approval.requestId })).error?.data.code).toBe("BAD_REQUEST");

    const events = await t.services.db.loginEvent.findMany({ where: { userId, ip: SYDNEY }, orderBy: { createdAt: "asc" } });
    expect(events.map((e) => [e.method, e.outcome, e.reason])).toEqual([
      ["password", "blocked", "approval_required"],
      ["approval", "success", null],
    ]);
    expect(
      await t.services.db.securityEvent.count({ where: { userId, type: { in: ["approval_requested", "approval_code_wrong", "approval_confirmed"] } } }),
    ).toBe(3);
    await prompts.return?.(undefined);
  });

  it("approvals.onRequest from a page's feed position replays a request made before the stream opened", async () => {
    const { email, laptop, userId } = await signedIn();
    // What a page reads while rendering, before its stream opens.
    const liveFrom = await t.services.events.currentSeq(userId);
    const { approval } = await requestFromNewDevice(email);
    const replay = (await (await laptop.caller()).approvals.onRequest({ lastEventId: String(liveFrom) }))[Symbol.asyncIterator]();
    // Tracked by its feed position (the envelope [id, data] through the caller), so a reconnecting stream resumes after it.
    const [id, event] = (await replay.next()).value as unknown as [string, State];
    expect(event).toMatchObject({ type: "approval_requested", requestId: approval.requestId });
    expect(id).toMatch(/^\d+$/);
    expect(Number(id)).toBeGreaterThan(liveFrom);
    await replay.return?.(undefined);

    // Without a position the stream starts at the feed's end: the same request is not replayed,
    // only what happens next (other events of the feed are not sent).
    const fromNow = (await (await laptop.caller()).approvals.onRequest())[Symbol.asyncIterator]();
    const coming = next(fromNow);
    await new Promise((r) => setTimeout(r, 150));
    await laptop.mutation("devices.rename", { deviceId: (await laptop.query<{ id: string }>("devices.current")).data!.id, name: "Laptop" });
    await laptop.mutation("approvals.deny", { requestId: approval.requestId });
    expect(await coming).toMatchObject({ type: "approval_resolved", requestId: approval.requestId, status: "denied" });
    await fromNow.return?.(undefined);
    await expect((await laptop.caller()).approvals.onRequest({ lastEventId: "-1" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("the first session of a user needs no approval, and known devices skip it", async () => {
    const email = uniqueEmail();
    const laptop = browser(LONDON);
    await laptop.mutation("auth.register", { email, password: PASSWORD });
    await laptop.mutation("auth.logout");
    // No other session: a new device signs straight in.
    const phone = browser(SYDNEY, IPHONE);
    expect((await phone.mutation<Login>("auth.login", { email, password: PASSWORD })).data).toMatchObject({ status: "signed_in" });
    // The laptop is a known device: no approval although the phone is signed in.
    expect((await laptop.mutation<Login>("auth.login", { email, password: PASSWORD })).data).toMatchObject({ status: "signed_in" });
  });

  it("a wrong password never reaches approval", async () => {
    const { email } = await signedIn();
    const res = await browser(SYDNEY).mutation("auth.login", { email, password: "not the password" });
    expect(res.error?.message).toBe("Invalid email or password");
  });

  it("after 5 wrong codes the request is dead, even with the right code", async () => {
    const { email, laptop, userId } = await signedIn();
    const { device, approval } = await requestFromNewDevice(email);
    const messages: string[] = [];
    for (let i = 0; i < 5; i++)
      messages.push((await laptop.mutation("approvals.confirm", { requestId: approval.requestId, code: wrongCode(approval.code) })).error!.message);
    expect(messages.slice(0, 4)).toEqual([
      "Wrong code. 4 attempts left.",
      "Wrong code. 3 attempts left.",
      "Wrong code. 2 attempts left.",
      "Wrong code. 1 attempt left.",
    ]);
    expect(messages[4]).toMatch(/After 5 wrong codes this request is blocked/);
    expect((await laptop.mutation("approvals.confirm", { requestId: approval.requestId, code: approval.code })).error?.message).toMatch(/no longer valid/);
    expect((await device.mutation("approvals.complete", { requestId: approval.requestId })).error?.message).toMatch(/no longer valid/);
    expect(await t.services.db.loginEvent.count({ where: { userId, reason: "approval_code_attempts" } })).toBe(1);
  });

  it("concurrent wrong codes cannot buy more than 5 attempts; a racing right code wins at most once", async () => {
    const { email, laptop } = await signedIn();
    const { approval } = await requestFromNewDevice(email);
    const guesses = Array.from({ length: 30 }, (_, i) => String((Number(approval.code) + 1 + i) % 1_000_000).padStart(6, "0"));
    const results = await Promise.all(guesses.map((code) => laptop.mutation("approvals.confirm", { requestId: approval.requestId, code })));
    const wrongAnswers = results.filter((r) => /Wrong code/.test(r.error?.message ?? ""));
    expect(wrongAnswers).toHaveLength(5);
    expect(results.filter((r) => /no longer valid/.test(r.error?.message ?? ""))).toHaveLength(25);
    expect(results.filter((r) => r.status === 200)).toHaveLength(0);

    const second = await requestFromNewDevice(email, "1.0.0.1");
    const racing = await Promise.all([
      ...Array.from({ length: 10 }, () => laptop.mutation("approvals.confirm", { requestId: second.approval.requestId, code: second.approval.code })),
      ...Array.from({ length: 10 }, (_, i) =>
        laptop.mutation("approvals.confirm", { requestId: second.approval.requestId, code: wrongCode(String(Number(second.approval.code) + i)) }),
      ),
    ]);
    expect(racing.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("deny ends the request at once; the new device is told", async () => {
    const { email, laptop, userId } = await signedIn();
    const { device, approval } = await requestFromNewDevice(email);
    const waiting = (await (await device.caller()).approvals.watch({ requestId: approval.requestId }))[Symbol.asyncIterator]();
    await next(waiting);
    expect((await laptop.mutation("approvals.deny", { requestId: approval.requestId })).data).toMatchObject({ status: "denied" });
    expect((await next(waiting))?.status).toBe("denied");
    expect(await next(waiting)).toBeUndefined();
    expect((await laptop.mutation("approvals.confirm", { requestId: approval.requestId, code: approval.code })).error?.message).toMatch(/no longer valid/);
    expect(await t.services.db.loginEvent.findFirst({ where: { userId, reason: "approval_denied" } })).toMatchObject({
      method: "approval",
      outcome: "blocked",
      ip: SYDNEY,
    });
  });

  it("wrong user: another account can neither see, confirm nor deny the request", async () => {
    const owner = await signedIn();
    const stranger = await signedIn();
    const { approval } = await requestFromNewDevice(owner.email);
    expect((await stranger.laptop.query<unknown[]>("approvals.pending")).data).toEqual([]);
    expect((await stranger.laptop.mutation("approvals.confirm", { requestId: approval.requestId, code: approval.code })).error?.message).toMatch(
      /no longer valid/,
    );
    expect((await stranger.laptop.mutation("approvals.deny", { requestId: approval.requestId })).error?.message).toMatch(/no longer valid/);
    // Still pending for its owner.
    expect((await owner.laptop.query<unknown[]>("approvals.pending")).data).toHaveLength(1);
  });

  it("cookie binding: the code and the request id alone yield no session", async () => {
    const { email, laptop } = await signedIn();
    const { device, approval } = await requestFromNewDevice(email);
    await laptop.mutation("approvals.confirm", { requestId: approval.requestId, code: approval.code });
    const attacker = browser(SYDNEY, FIREFOX_LINUX);
    expect((await attacker.mutation("approvals.complete", { requestId: approval.requestId })).error?.data.code).toBe("BAD_REQUEST");
    attacker.cookies.set("handoff_approval", `${approval.requestId}.${"A".repeat(43)}`);
    expect((await attacker.mutation("approvals.complete", { requestId: approval.requestId })).error?.data.code).toBe("BAD_REQUEST");
    await expect(
      (await attacker.caller()).approvals.watch({ requestId: approval.requestId }).then((it) => it[Symbol.asyncIterator]().next()),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await device.mutation("approvals.complete", { requestId: approval.requestId })).status).toBe(200);
  });

  it("emergency lockout and forgetting a device cancel pending requests", async () => {
    const { email, laptop } = await signedIn();
    const first = await requestFromNewDevice(email);
    expect((await laptop.mutation("sessions.lockout", { password: PASSWORD })).status).toBe(200);
    expect((await laptop.mutation("auth.login", { email, password: PASSWORD })).status).toBe(200); // laptop is known: back in
    expect((await first.device.mutation("approvals.complete", { requestId: first.approval.requestId })).error?.message).toMatch(/no longer valid/);
    expect((await laptop.mutation("approvals.confirm", { requestId: first.approval.requestId, code: first.approval.code })).error?.message).toMatch(
      /no longer valid/,
    );

    // A device that was known, forgotten while it has a request open: the request is cancelled.
    const phone = browser(SYDNEY, IPHONE);
    await laptop.mutation("sessions.revokeOthers");
    await laptop.mutation("auth.logout");
    expect((await phone.mutation<Login>("auth.login", { email, password: PASSWORD })).data).toMatchObject({ status: "signed_in" }); // no other session: no approval
    expect((await laptop.mutation<Login>("auth.login", { email, password: PASSWORD })).data).toMatchObject({ status: "signed_in" }); // known
    const phoneDevice = (await laptop.query<RouterOutputs["devices"]["list"]>("devices.list")).data!.find((d) => !d.current)!;
    await laptop.mutation("devices.forget", { deviceId: phoneDevice.id });
    const again = await phone.mutation<Login>("auth.login", { email, password: PASSWORD });
    expect(again.data).toMatchObject({ status: "approval_required" });
  });

  it("the session cap is checked again when the approved device collects its session", async () => {
    const capped = await createTestServices({ TRUST_PROXY: "true", NEW_DEVICE_APPROVAL: "true", SESSION_LIMIT: "2", SESSION_LIMIT_POLICY: "reject" });
    try {
      const email = uniqueEmail();
      const a = new TestBrowser(capped.services, { headers: { "x-forwarded-for": LONDON } });
      await a.mutation("auth.register", { email, password: PASSWORD });
      const b = new TestBrowser(capped.services, { headers: { "x-forwarded-for": SYDNEY } });
      const c = new TestBrowser(capped.services, { headers: { "x-forwarded-for": "1.0.0.1" } });
      const bReq = (await b.mutation<Login>("auth.login", { email, password: PASSWORD })).data as Approval;
      const cReq = (await c.mutation<Login>("auth.login", { email, password: PASSWORD })).data as Approval;
      await a.mutation("approvals.confirm", { requestId: bReq.requestId, code: bReq.code });
      await a.mutation("approvals.confirm", { requestId: cReq.requestId, code: cReq.code });
      expect((await b.mutation("approvals.complete", { requestId: bReq.requestId })).status).toBe(200);
      const refused = await c.mutation("approvals.complete", { requestId: cReq.requestId });
      expect(refused.status).toBe(429);
      expect(refused.error?.message).toMatch(/^Already 2 sessions active/);
    } finally {
      await capped.close();
    }
  });

  it("new-device approval requests per account are limited by APPROVAL_RATE_LIMIT, not HANDOFF_RATE_LIMIT", async () => {
    const limited = await createTestServices({
      TRUST_PROXY: "true",
      NEW_DEVICE_APPROVAL: "true",
      SESSION_LIMIT: "0",
      APPROVAL_RATE_LIMIT: "2",
      HANDOFF_RATE_LIMIT: "1",
    });
    try {
      await clearOfMinuteBoundary();
      const email = uniqueEmail();
      await new TestBrowser(limited.services, { headers: { "x-forwarded-for": LONDON } }).mutation("auth.register", { email, password: PASSWORD });
      const fromNewDevice = (ip: string) =>
        new TestBrowser(limited.services, { headers: { "x-forwarded-for": ip } }).mutation<Login>("auth.login", { email, password: PASSWORD });
      // Different addresses: only the per-account approval limit applies.
      expect((await fromNewDevice(SYDNEY)).data).toMatchObject({ status: "approval_required" });
      expect((await fromNewDevice("1.0.0.1")).data).toMatchObject({ status: "approval_required" });
      const third = await fromNewDevice("1.0.0.2");
      expect(third.status).toBe(429);
      expect(third.error?.message).toMatch(/^Too many sign-in requests for this account\./);
    } finally {
      await limited.close();
    }
  });

  it("the classic preset: one session by default, a second device only with the first one's code, a third refused", async () => {
    const classic = await createTestServices({ TRUST_PROXY: "true", PRESET: "classic", NEW_DEVICE_APPROVAL: "", SESSION_LIMIT: "", SESSION_LIMIT_POLICY: "" });
    try {
      expect(classic.env).toMatchObject({ SESSION_LIMIT: 2, SESSION_LIMIT_POLICY: "reject", NEW_DEVICE_APPROVAL: true });
      const email = uniqueEmail();
      const first = new TestBrowser(classic.services, { headers: { "x-forwarded-for": LONDON } });
      await first.mutation("auth.register", { email, password: PASSWORD });
      const second = new TestBrowser(classic.services, { headers: { "x-forwarded-for": SYDNEY }, userAgent: IPHONE });
      const req = (await second.mutation<Login>("auth.login", { email, password: PASSWORD })).data as Approval;
      expect(req.status).toBe("approval_required");
      await first.mutation("approvals.confirm", { requestId: req.requestId, code: req.code });
      expect((await second.mutation("approvals.complete", { requestId: req.requestId })).status).toBe(200);
      const third = await new TestBrowser(classic.services, { headers: { "x-forwarded-for": "1.0.0.1" } }).mutation("auth.login", {
        email,
        password: PASSWORD,
      });
      expect(third.status).toBe(429);
      expect(third.error?.message).toMatch(/^Already 2 sessions active/);
    } finally {
      await classic.close();
    }
  });
});

describe.each([
  ["real Redis", process.env.TEST_REDIS_URL ?? ""],
  ["embedded Redis", ""],
])("approval requests expire (%s)", (_name, redisUrl) => {
  it("after the TTL the request is gone: no confirm, no completion", async () => {
    const t = await createTestServices({ REDIS_URL: redisUrl });
    try {
      const store = new ApprovalStore(t.services.redis.redis, t.env.REDIS_PREFIX, 300);
      const created = await store.create({ userId: "u1", ip: "127.0.0.1", userAgent: "x", deviceCookieHash: "d" });
      expect((await store.listForUser("u1")).map((r) => r.status)).toEqual(["pending"]);
      await new Promise((r) => setTimeout(r, 400));
      expect(await store.confirm(created.id, "u1", created.code)).toEqual({ ok: false, why: "gone" });
      expect(await store.complete(created.id, created.browserSecret)).toEqual({ ok: false, why: "gone" });
      expect(await store.watch(created.id, { browserSecret: created.browserSecret })).toEqual({ ok: false, why: "gone" });
      expect(await store.listForUser("u1")).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
