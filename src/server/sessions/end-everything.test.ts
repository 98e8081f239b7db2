import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIREFOX_LINUX, IPHONE, LONDON, PASSWORD, SYDNEY } from "~/test/fixtures";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { sha256 } from "~/server/platform/crypto";
import { deviceCookieName, verifiedDeviceId } from "~/server/platform/cookies";
import { endEverything } from "~/server/sessions/end-everything";
import type { RouterOutputs } from "~/trpc/types";

// The one step every "end the sessions" flow runs (lockout, password change, sign out others,
// forget device; password reset and account deletion next), checked on its own on the real
// PostgreSQL and Redis.

type Login = RouterOutputs["auth"]["login"];

describe("endEverything (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const browser = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({ TRUST_PROXY: "true", NEW_DEVICE_APPROVAL: "true", SESSION_LIMIT: "0", HANDOFF_RATE_LIMIT: "1000" });
  });
  afterAll(() => t.close());

  /** An account signed in on a laptop and a phone, with a token session, a QR offer and an approval request open. */
  async function busyAccount() {
    const email = uniqueEmail();
    const laptop = browser(LONDON);
    const userId = (await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD })).data!.user.id;
    // The phone is let in while the laptop is the only session: approve it through the laptop.
    const phone = browser(SYDNEY, IPHONE);
    const asked = (await phone.mutation<Login>("auth.login", { email, password: PASSWORD })).data as Extract<Login, { status: "approval_required" }>;
    await laptop.mutation("approvals.confirm", { requestId: asked.requestId, code: asked.code });
    expect((await phone.mutation("approvals.complete", { requestId: asked.requestId })).status).toBe(200);
    await laptop.mutation("account.reauthenticate", { password: PASSWORD });
    const app = (await laptop.mutation<{ sessionId: string }>("tokens.issueFromSession", { deviceName: "CLI" })).data!;
    const offer = (await laptop.mutation<{ id: string }>("handoff.offer")).data!;
    const stranger = browser("1.0.0.1", FIREFOX_LINUX);
    const request = (await stranger.mutation<Login>("auth.login", { email, password: PASSWORD })).data as Extract<Login, { status: "approval_required" }>;
    const me = async (b: TestBrowser) => (await b.query<{ session: { id: string; deviceId: string } }>("auth.me")).data!.session;
    return { email, userId, laptop, phone, stranger, app, offer, request, laptopSession: await me(laptop), phoneSession: await me(phone) };
  }

  const statusOf = async (userId: string, requestId: string) => (await t.services.approvals.listForUser(userId)).find((r) => r.id === requestId)?.status;
  const handoffStatus = async (userId: string, id: string) => {
    const outcome = await t.services.handoffs.watch(id, { userId });
    return outcome.ok ? outcome.record.status : outcome.why;
  };

  it("the whole account but one session: cookie and token sessions end, sign-ins in flight too, pending requests are cancelled, pages are told why", async () => {
    const a = await busyAccount();
    const epochBefore = await t.services.sessions.currentEpoch(a.userId);
    const from = await t.services.events.currentSeq(a.userId);
    const ended = await endEverything(t.services, {
      userId: a.userId,
      reason: "password_changed",
      keepSessionId: a.laptopSession.id,
      cancelPending: true,
      report: (ended) => ({ audit: { type: "password_changed", ip: LONDON, detail: { signedOut: ended.sessions } } }),
    });
    expect(ended.sessions.sort()).toEqual([a.phoneSession.id, a.app.sessionId].sort());
    expect(ended.cancelledHandoffs).toEqual([a.offer.id]);
    expect(ended.cancelledApprovals).toEqual([a.request.requestId]);
    expect(ended.distrustedDevices).toEqual([]);

    expect((await a.laptop.query("auth.me")).status).toBe(200);
    expect((await a.phone.query("auth.me")).status).toBe(401);
    expect((await t.services.sessions.listUserSessions(a.userId)).map((s) => s.id)).toEqual([a.laptopSession.id]);
    // A sign-in whose password was checked before cannot land after: the epoch moved on.
    expect(await t.services.sessions.currentEpoch(a.userId)).not.toBe(epochBefore);
    await expect(
      t.services.sessions.createSession(
        { userId: a.userId, email: a.email, deviceId: a.phoneSession.deviceId, ip: SYDNEY, method: "password", emailVerified: false },
        { limit: 0, policy: "evict-oldest" },
        { epoch: epochBefore },
      ),
    ).rejects.toMatchObject({ name: "SessionEpochChangedError" });

    expect(await handoffStatus(a.userId, a.offer.id)).toBe("cancelled");
    expect(await statusOf(a.userId, a.request.requestId)).toBe("cancelled");
    const events = (await t.services.events.poll(a.userId, a.laptopSession.id, from)).events;
    expect(events.map((e) => [e.type, "reason" in e ? e.reason : "status" in e ? e.status : null])).toEqual([
      ["approval_resolved", "cancelled"],
      ["revoked", "password_changed"],
    ]);
    expect(await t.services.db.securityEvent.findFirst({ where: { userId: a.userId, type: "password_changed" } })).toMatchObject({
      detail: { signedOut: expect.arrayContaining(ended.sessions) },
    });
  });

  it("without cancelPending the QR handoffs and approval requests stay open", async () => {
    const a = await busyAccount();
    const ended = await endEverything(t.services, { userId: a.userId, reason: "revoked_others", keepSessionId: a.laptopSession.id, cancelPending: false });
    expect(ended.sessions).toHaveLength(2);
    expect(await handoffStatus(a.userId, a.offer.id)).toBe("pending");
    expect(await statusOf(a.userId, a.request.requestId)).toBe("pending");
  });

  it("one device: only its sessions and the approval requests its browser made; other pending requests and the epoch stay", async () => {
    const a = await busyAccount();
    const epochBefore = await t.services.sessions.currentEpoch(a.userId);
    // The stranger's browser is a device of the account (its approval request came from it).
    const strangerDevice = verifiedDeviceId(a.stranger.cookies.get(deviceCookieName(false)), t.env.SESSION_SECRET);
    expect(strangerDevice).toBeTruthy();
    const phoneDevice = await t.services.db.device.findUniqueOrThrow({ where: { id: a.phoneSession.deviceId }, select: { cookieHash: true } });
    const ended = await endEverything(t.services, {
      userId: a.userId,
      reason: "device_forgotten",
      device: { id: a.phoneSession.deviceId, cookieHash: phoneDevice.cookieHash },
      cancelPending: true,
    });
    expect(ended.sessions).toEqual([a.phoneSession.id]);
    expect(ended.cancelledHandoffs).toEqual([]);
    expect(ended.cancelledApprovals).toEqual([]);
    expect(await statusOf(a.userId, a.request.requestId)).toBe("pending");
    expect(await handoffStatus(a.userId, a.offer.id)).toBe("pending");
    expect(await t.services.sessions.currentEpoch(a.userId)).toBe(epochBefore);

    // The same step for the browser that asked for approval cancels its request.
    const asked = await endEverything(t.services, {
      userId: a.userId,
      reason: "device_forgotten",
      device: { id: "00000000-0000-0000-0000-000000000000", cookieHash: sha256(strangerDevice!) },
      cancelPending: true,
    });
    expect(asked.cancelledApprovals).toEqual([a.request.requestId]);
  });

  it("lockout: every session, this one too, every device distrusted, and `locked_out` says whether the password changed", async () => {
    const a = await busyAccount();
    const from = await t.services.events.currentSeq(a.userId);
    const ended = await endEverything(t.services, { userId: a.userId, reason: "lockout", passwordChanged: true, cancelPending: true, distrustDevices: true });
    expect(ended.sessions).toHaveLength(3);
    // The laptop, the phone and the app's device.
    expect(ended.distrustedDevices).toHaveLength(3);
    expect(ended.distrustedDevices).toEqual(expect.arrayContaining([a.laptopSession.deviceId, a.phoneSession.deviceId]));
    expect(await t.services.db.device.count({ where: { userId: a.userId, forgottenAt: null } })).toBe(0);
    const last = (await t.services.events.poll(a.userId, a.laptopSession.id, from)).events.at(-1);
    expect(last).toMatchObject({ type: "locked_out", passwordChanged: true, sessionIds: expect.arrayContaining(ended.sessions) });
  });
});
