import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IPHONE, LONDON, MOUNTAIN_VIEW, PASSWORD } from "~/test/fixtures";
import { clearOfMinuteBoundary, createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { recentAuthKey } from "~/server/sessions/store";
import type { RouterOutputs } from "~/trpc/types";

type Activity = RouterOutputs["account"]["securityActivity"];
type Export = RouterOutputs["account"]["exportData"];

describe("security activity and data export (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const device = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({ TRUST_PROXY: "true", SESSION_LIMIT: "0", DATA_EXPORT_RATE_LIMIT: "1000" });
  });
  afterAll(() => t.close());

  async function busyAccount() {
    const email = uniqueEmail("activity");
    const laptop = device(LONDON);
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    const phone = device(MOUNTAIN_VIEW, IPHONE);
    await phone.mutation("auth.login", { email, password: PASSWORD });
    const phoneDevice = (await phone.query<{ id: string }>("devices.current")).data!.id;
    await laptop.mutation("devices.rename", { deviceId: phoneDevice, name: "Ann's phone" });
    await laptop.mutation("account.changePassword", { currentPassword: PASSWORD, newPassword: "a second passphrase", signOutOtherSessions: true });
    return { email, laptop, phone, userId: reg.data!.user.id, phoneDevice };
  }

  it("securityActivity: the user's own events, newest first, readable, paged", async () => {
    const { laptop } = await busyAccount();
    const first = (await laptop.query<Activity>("account.securityActivity", { limit: 2 })).data!;
    expect(first.items.map((e) => e.type)).toEqual(["password_changed", "device_renamed"]);
    expect(first.items[0]).toMatchObject({ title: "Password changed", ip: LONDON, location: "London, United Kingdom" });
    expect(first.items[1]!.title).toBe("A device was renamed");
    expect(first.nextCursor).toBe(first.items[1]!.id);
    const all = (await laptop.query<Activity>("account.securityActivity", { cursor: first.nextCursor })).data!;
    expect(all.nextCursor).toBeNull();
    for (const e of all.items) expect(first.items.map((i) => i.id)).not.toContain(e.id);
    const times = [...first.items, ...all.items].map((e) => e.createdAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it("securityActivity never shows another user's events, whatever cursor is sent", async () => {
    const ann = await busyAccount();
    const bob = await busyAccount();
    const bobs = (await bob.laptop.query<Activity>("account.securityActivity")).data!;
    const seenByAnn = (await ann.laptop.query<Activity>("account.securityActivity", { cursor: bobs.items[0]!.id })).data!;
    const annIds = new Set((await t.services.db.securityEvent.findMany({ where: { userId: ann.userId }, select: { id: true } })).map((e) => e.id));
    for (const e of seenByAnn.items) expect(annIds.has(e.id)).toBe(true);
    expect((await ann.laptop.query("account.securityActivity", { cursor: "not-a-uuid" })).error?.data.reason).toBe("invalid_input");
    expect((await ann.laptop.query("account.securityActivity", { limit: 1000 })).error?.data.reason).toBe("invalid_input");
    expect((await device(LONDON).query("account.securityActivity")).error?.data.code).toBe("UNAUTHORIZED");
  });

  it("exportData: profile, devices, addresses, sessions, sign-in history and security events, without any secret", async () => {
    const { email, laptop, userId, phoneDevice } = await busyAccount();
    const res = await laptop.mutation<Export>("account.exportData");
    const data = res.data!;
    expect(data.format).toBe("handoff-export/1");
    expect(data.profile).toMatchObject({ id: userId, email, emailVerifiedAt: null });
    expect(data.devices.map((d) => d.name)).toContain("Ann's phone");
    expect(data.devices.find((d) => d.id === phoneDevice)).toMatchObject({ browser: "Mobile Safari" });
    expect(data.addresses.map((a) => a.address).sort()).toEqual([LONDON, MOUNTAIN_VIEW].sort());
    // The phone was signed out by the password change: one live session, this one.
    expect(data.sessions).toHaveLength(1);
    expect(data.sessions[0]).toMatchObject({ current: true, ip: LONDON, method: "password" });
    expect(data.signInHistory.map((e) => e.outcome)).toEqual(["success", "success"]);
    // (London then Mountain View within seconds: flagged as impossible travel.)
    expect(data.securityEvents.map((e) => e.type)).toEqual(["suspicious_sign_in", "device_renamed", "password_changed", "data_exported"]);
    const json = JSON.stringify(data);
    const user = await t.services.db.user.findUniqueOrThrow({ where: { id: userId } });
    expect(json).not.toContain(user.passwordHash);
    for (const d of await t.services.db.device.findMany({ where: { userId } })) expect(json).not.toContain(d.cookieHash);
    expect(json).not.toMatch(/passwordHash|cookieHash|secretHash/);
  });

  it("exportData needs fresh authentication: a session whose password entry is old gets reauth_required, then the export after account.reauthenticate", async () => {
    const b = new TestBrowser(t.services);
    await b.mutation("auth.register", { email: uniqueEmail("stale"), password: PASSWORD });
    const sessionId = (await b.query<{ session: { id: string } }>("auth.me")).data!.session.id;
    // As if REAUTH_MINUTES had passed since the sign-in (a cookie stolen later).
    await t.services.redis.redis.del(recentAuthKey(t.services.redis.prefix, sessionId));
    expect((await b.mutation("account.exportData")).error?.data.reason).toBe("reauth_required");
    expect((await b.mutation("account.reauthenticate", { password: PASSWORD })).status).toBe(200);
    expect((await b.mutation("account.exportData")).status).toBe(200);
  });

  it("exportData is limited per user", async () => {
    const limited = await createTestServices({ DATA_EXPORT_RATE_LIMIT: "2" });
    try {
      await clearOfMinuteBoundary();
      const b = new TestBrowser(limited.services);
      await b.mutation("auth.register", { email: uniqueEmail("export"), password: PASSWORD });
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push((await b.mutation("account.exportData")).status);
      expect(answers).toEqual([200, 200, 429]);
    } finally {
      await limited.close();
    }
  });
});
