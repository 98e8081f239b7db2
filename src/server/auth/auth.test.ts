import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newDeviceCookie } from "~/server/platform/cookies";
import { recordDeviceSignIn } from "~/server/devices/device";
import { startSession } from "~/server/auth/start-session";
import { login } from "~/server/auth/sign-in";
import { changePassword } from "~/server/account/reauth";
import { redisUnavailable } from "~/server/platform/redis/errors";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";

const PASSWORD = "correct horse battery staple";

describe("auth over HTTP (tRPC handler, real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const browser = (opts?: ConstructorParameters<typeof TestBrowser>[1]) => new TestBrowser(t.services, opts);

  beforeAll(async () => {
    t = await createTestServices();
  });
  afterAll(() => t.close());

  it("register signs in; me answers; sign-out ends the session at once", async () => {
    const b = browser();
    const email = uniqueEmail();
    const reg = await b.mutation<{ user: { id: string; email: string } }>("auth.register", { email: `  ${email.toUpperCase()} `, password: PASSWORD });
    expect(reg.status).toBe(200);
    expect(reg.data!.user.email).toBe(email); // stored lower-cased and trimmed

    const me = await b.query<{ user: { id: string; email: string }; session: Record<string, unknown> }>("auth.me");
    expect(me.status).toBe(200);
    expect(me.data!.user).toEqual({ ...reg.data!.user, emailVerified: false });
    expect(Object.keys(me.data!.session).sort()).toEqual(["absoluteExpiresAt", "createdAt", "deviceId", "id", "idleExpiresAt", "lastSeenAt", "method"].sort());

    const stolenCookies = new Map(b.cookies);
    expect((await b.mutation("auth.logout")).status).toBe(200);
    expect((await b.query("auth.me")).error?.data.code).toBe("UNAUTHORIZED");

    // The old cookie, replayed after sign-out, is useless on the very next request.
    const replay = browser();
    replay.cookies = stolenCookies;
    expect((await replay.query("auth.me")).status).toBe(401);
  });

  it("sets the session cookie HttpOnly, SameSite=Lax, path /, sealed (no token in clear)", async () => {
    const b = browser();
    const res = await b.raw("auth.register", { method: "POST", body: JSON.stringify({ json: { email: uniqueEmail(), password: PASSWORD } }) });
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith("handoff_session="))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(session).toMatch(/Path=\//);
    expect(session).not.toMatch(/Secure/); // http://localhost
    expect(session).toMatch(/^handoff_session=Fe26\.2\*/); // iron seal
    expect(cookies.some((c) => c.startsWith("handoff_device="))).toBe(true);
  });

  it("uses Secure __Host- cookies when the app is served over https", async () => {
    const secure = await createTestServices({ APP_URL: "https://auth.example.com" });
    try {
      const b = new TestBrowser(secure.services, { origin: "https://auth.example.com" });
      const res = await b.raw("auth.register", { method: "POST", body: JSON.stringify({ json: { email: uniqueEmail(), password: PASSWORD } }) });
      const session = res.headers.getSetCookie().find((c) => c.startsWith("__Host-handoff_session="));
      expect(session).toMatch(/; Secure/);
    } finally {
      await secure.close();
    }
  });

  it("every sign-in gets a brand-new session and ends the one the browser held", async () => {
    const b = browser();
    const email = uniqueEmail();
    await b.mutation("auth.register", { email, password: PASSWORD });
    const first = (await b.query<{ session: { id: string } }>("auth.me")).data!.session.id;
    const oldCookies = new Map(b.cookies);
    expect((await b.mutation("auth.login", { email, password: PASSWORD })).data).toMatchObject({ status: "signed_in", user: { email } });
    const second = (await b.query<{ session: { id: string } }>("auth.me")).data!.session.id;
    expect(second).not.toBe(first);
    const old = browser();
    old.cookies = oldCookies;
    expect((await old.query("auth.me")).status).toBe(401);
  });

  it("duplicate email is a CONFLICT with a clear message", async () => {
    const email = uniqueEmail();
    await browser().mutation("auth.register", { email, password: PASSWORD });
    const again = await browser().mutation("auth.register", { email: email.toUpperCase(), password: "another password" });
    expect(again.status).toBe(409);
    expect(again.error?.data.code).toBe("CONFLICT");
    expect(again.error?.message).toMatch(/already exists/);
  });

  it("password rules: 8 to 256 characters, no composition rules", async () => {
    const short = await browser().mutation("auth.register", { email: uniqueEmail(), password: "1234567" });
    expect(short.error?.data.code).toBe("BAD_REQUEST");
    expect(short.error?.data.fieldErrors?.password).toEqual(["Password must be at least 8 characters"]);
    const long = await browser().mutation("auth.register", { email: uniqueEmail(), password: "x".repeat(257) });
    expect(long.error?.data.fieldErrors?.password).toEqual(["Password must be at most 256 characters"]);
    expect((await browser().mutation("auth.register", { email: uniqueEmail(), password: "aaaaaaaa" })).status).toBe(200);
    expect((await browser().mutation("auth.register", { email: uniqueEmail(), password: "é".repeat(256) })).status).toBe(200);
  });

  it("wrong password and unknown email give the same UNAUTHORIZED answer, and both are logged", async () => {
    const email = uniqueEmail();
    const reg = await browser().mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    const wrong = await browser({ ip: "198.51.100.4" }).mutation("auth.login", { email, password: "not the password" });
    const unknownEmail = uniqueEmail("nobody");
    const unknown = await browser().mutation("auth.login", { email: unknownEmail, password: "not the password" });
    for (const r of [wrong, unknown]) {
      expect(r.status).toBe(401);
      expect(r.error?.data.code).toBe("UNAUTHORIZED");
      expect(r.error?.message).toBe("Invalid email or password");
    }
    const events = await t.services.db.loginEvent.findMany({ where: { email: { in: [email, unknownEmail] } }, orderBy: { createdAt: "asc" } });
    expect(events.map((e) => [e.email, e.outcome, e.reason, e.method])).toEqual([
      [email, "success", null, "password"],
      [email, "failure", "wrong_password", "password"],
      [unknownEmail, "failure", "unknown_email", "password"],
    ]);
    expect(events[1]).toMatchObject({ userId: reg.data!.user.id, ip: "198.51.100.4" });
    expect(events[2]!.userId).toBeNull();
  });

  it("records the device (parsed user agent, device cookie) and IP; the same browser is the same device", async () => {
    const ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const phone = browser({ userAgent: ua, ip: "203.0.113.9" });
    const email = uniqueEmail();
    const reg = await phone.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    await phone.mutation("auth.logout");
    await phone.mutation("auth.login", { email, password: PASSWORD });
    const laptop = browser({ ip: "203.0.113.10" });
    await laptop.mutation("auth.login", { email, password: PASSWORD });

    const devices = await t.services.db.device.findMany({ where: { userId: reg.data!.user.id }, orderBy: { firstSeenAt: "asc" } });
    expect(devices).toHaveLength(2);
    expect(devices[0]).toMatchObject({ browser: "Mobile Safari", os: "iOS 17", deviceType: "mobile", name: "Mobile Safari on iOS 17" });
    expect(devices[1]).toMatchObject({ browser: "Chrome", os: "macOS", deviceType: "desktop", name: "Chrome on macOS" });
    const current = await phone.query<{ id: string; ip: string }>("devices.current");
    expect(current.data).toMatchObject({ id: devices[0]!.id, ip: "203.0.113.9" });
    const ips = await t.services.db.ipAddress.findMany({ where: { userId: reg.data!.user.id }, orderBy: { address: "asc" } });
    expect(ips.map((i) => i.address)).toEqual(["203.0.113.10", "203.0.113.9"]);
  });

  it("takes the client IP from the socket, and from X-Forwarded-For only with TRUST_PROXY", async () => {
    const spoof = { "x-forwarded-for": "192.0.2.55, 10.0.0.1" };
    const b = browser({ ip: "127.0.0.1", headers: spoof });
    await b.mutation("auth.register", { email: uniqueEmail(), password: PASSWORD });
    expect((await b.query<{ ip: string }>("devices.current")).data!.ip).toBe("127.0.0.1");

    const proxied = await createTestServices({ TRUST_PROXY: "true" });
    try {
      const p = new TestBrowser(proxied.services, { ip: "10.0.0.1", headers: spoof });
      await p.mutation("auth.register", { email: uniqueEmail(), password: PASSWORD });
      expect((await p.query<{ ip: string }>("devices.current")).data!.ip).toBe("192.0.2.55");
    } finally {
      await proxied.close();
    }
  });

  it("rejects mutations whose Origin is missing or foreign (CSRF) and writes nothing", async () => {
    const email = uniqueEmail();
    const none = await browser({ origin: null }).mutation("auth.register", { email, password: PASSWORD });
    expect(none.status).toBe(403);
    expect(none.error?.message).toMatch(/Origin/);
    const evil = await browser({ origin: "https://evil.example" }).mutation("auth.register", { email, password: PASSWORD });
    expect(evil.status).toBe(403);
    expect(evil.error?.data.code).toBe("FORBIDDEN");
    expect(await t.services.db.user.count({ where: { email } })).toBe(0);
    const login = await browser({ origin: "http://localhost:3001" }).mutation("auth.login", { email, password: PASSWORD });
    expect(login.status).toBe(403);
  });

  it("protected procedures answer UNAUTHORIZED without a valid session, whatever the cookie holds", async () => {
    for (const value of [undefined, "", "garbage", "Fe26.2*1*abc", "x".repeat(5000)]) {
      const b = browser();
      if (value !== undefined) b.cookies.set("handoff_session", value);
      expect((await b.query("auth.me")).error?.data.code).toBe("UNAUTHORIZED");
      expect((await b.query("devices.current")).error?.data.code).toBe("UNAUTHORIZED");
    }
  });

  it("concurrent sign-ins from one new browser (a double submit) record one device and never fail", async () => {
    const email = uniqueEmail();
    const reg = await browser().mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    // A browser that already holds a device cookie this server issued, but is new to this account.
    const deviceCookie = newDeviceCookie({ secure: false, secret: t.env.SESSION_SECRET }).value;
    // Five at once: account throttling counts attempts in flight, so a sixth parallel attempt of a
    // not-yet-known browser would already have to wait (see throttle.test.ts).
    const results = await Promise.all(
      Array.from({ length: 5 }, () => {
        const b = browser({ ip: "198.51.100.77", userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" });
        b.cookies.set("handoff_device", deviceCookie);
        return b.mutation("auth.login", { email, password: PASSWORD });
      }),
    );
    expect(results.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect(await t.services.db.device.count({ where: { userId: reg.data!.user.id, browser: "Firefox" } })).toBe(1);
    expect(await t.services.db.ipAddress.count({ where: { userId: reg.data!.user.id, address: "198.51.100.77" } })).toBe(1);
  });

  it("recording the same new device from 20 racing requests creates one device and one IP row", async () => {
    const reg = await browser().mutation<{ user: { id: string } }>("auth.register", { email: uniqueEmail(), password: PASSWORD });
    const userId = reg.data!.user.id;
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        recordDeviceSignIn(t.services.db, {
          userId,
          deviceCookie: "R".repeat(43),
          userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
          ip: "198.51.100.78",
          signIn: { email: "race@example.com", method: "password" },
        }),
      ),
    );
    expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason).slice(0, 200))).toEqual([]);
    const ids = new Set(results.map((r) => (r as PromiseFulfilledResult<{ id: string }>).value.id));
    expect(ids.size).toBe(1);
    expect(await t.services.db.device.count({ where: { userId, browser: "Firefox" } })).toBe(1);
    expect(await t.services.db.ipAddress.count({ where: { userId, address: "198.51.100.78" } })).toBe(1);
  });

  it("recording a sign-in reads the account's history as it was before it, in the same statement", async () => {
    const email = uniqueEmail();
    const reg = await browser({ ip: "198.51.100.80" }).mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    const userId = reg.data!.user.id;
    const record = (ip: string) =>
      recordDeviceSignIn(t.services.db, { userId, deviceCookie: "H".repeat(43), userAgent: "curl/8", ip, signIn: { email, method: "password" } });
    const registered = await t.services.db.loginEvent.findFirstOrThrow({ where: { userId, outcome: "success" } });
    const first = (await record("198.51.100.81"))!;
    expect(first.history).toEqual({ last: { ip: "198.51.100.80", at: registered.createdAt }, addresses: ["198.51.100.80"] });
    expect(first.isNew).toBe(true);
    const second = (await record("198.51.100.82"))!;
    expect(second.isNew).toBe(false);
    expect(second.history.addresses).toEqual(["198.51.100.81", "198.51.100.80"]);
  });

  it("recording a sign-in writes its history row in the same statement, and nothing once the password is no longer the one checked", async () => {
    const email = uniqueEmail();
    const reg = await browser({ ip: "198.51.100.90" }).mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    const userId = reg.data!.user.id;
    const { passwordHash } = await t.services.db.user.findUniqueOrThrow({ where: { id: userId }, select: { passwordHash: true } });
    const input = { userId, deviceCookie: "S".repeat(43), userAgent: "curl/8", ip: "198.51.100.91", signIn: { email, method: "token" as const } };
    const recorded = (await recordDeviceSignIn(t.services.db, { ...input, passwordHash }))!;
    expect(await t.services.db.loginEvent.findUniqueOrThrow({ where: { id: recorded.loginEventId! } })).toMatchObject({
      userId,
      email,
      deviceId: recorded.id,
      ip: "198.51.100.91",
      method: "token",
      outcome: "success",
      reason: null,
      suspicious: null,
    });
    const rows = async () => [
      await t.services.db.device.count({ where: { userId } }),
      await t.services.db.ipAddress.count({ where: { userId } }),
      await t.services.db.loginEvent.count({ where: { userId } }),
    ];
    const before = await rows();
    // The password changed after it was checked (another session's account.changePassword).
    expect(
      await recordDeviceSignIn(t.services.db, { ...input, ip: "198.51.100.92", deviceCookie: "T".repeat(43), passwordHash: "$argon2id$stale" }),
    ).toBeNull();
    expect(await rows()).toEqual(before);
  });

  it("a password sign-in whose password changed after the check gets no session; only the attempt is written, as a failure", async () => {
    const email = uniqueEmail();
    const reg = await browser().mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    const userId = reg.data!.user.id;
    const events = await t.services.db.loginEvent.count({ where: { userId } });
    const signIn = startSession(
      t.services,
      { id: userId, email, emailVerified: false },
      { ip: "198.51.100.93", userAgent: "curl/8", deviceCookie: "U".repeat(43) },
      "password",
      { passwordHash: "$argon2id$the-one-before", knownDevice: false },
    );
    await expect(signIn).rejects.toMatchObject({ code: "UNAUTHORIZED", reason: "invalid_credentials" });
    expect(await t.services.sessions.listUserSessions(userId)).toHaveLength(1);
    // Only the attempt itself, as a failure: no device, no address, no success.
    expect(await t.services.db.loginEvent.count({ where: { userId } })).toBe(events + 1);
    expect(await t.services.db.loginEvent.findFirst({ where: { userId, ip: "198.51.100.93" } })).toMatchObject({
      outcome: "failure",
      reason: "password_changed",
      deviceId: null,
    });
    expect(await t.services.db.ipAddress.count({ where: { userId, address: "198.51.100.93" } })).toBe(0);
    expect(await t.services.db.device.count({ where: { userId } })).toBe(1);
  });

  describe("a password sign-in racing a change of the password (steps run in between, deterministically)", () => {
    const NEW_PASSWORD = "a brand new passphrase 42";
    const client = { ip: "198.51.100.95", userAgent: "curl/8", deviceCookie: "V".repeat(43) };

    async function account() {
      const email = uniqueEmail();
      const owner = browser();
      const reg = await owner.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
      const userId = reg.data!.user.id;
      const [ownerSession] = await t.services.sessions.listUserSessions(userId);
      const actor = { userId, sessionId: ownerSession!.id, deviceId: ownerSession!.deviceId, ip: "198.51.100.96" };
      const changePasswordKeepingSessions = () =>
        changePassword(t.services, actor, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, signOutOtherSessions: false });
      const outcome = async () => {
        const rows = await t.services.db.loginEvent.findMany({ where: { userId, ip: client.ip }, select: { outcome: true, reason: true } });
        return { rows, sessions: (await t.services.sessions.listUserSessions(userId)).map((s) => s.id) };
      };
      return { email, userId, ownerSessionId: actor.sessionId, changePasswordKeepingSessions, outcome };
    }

    /** The services with one step of the session store wrapped: `step` runs right before or after it. */
    function withStep(method: "currentEpoch" | "createSession", when: "before" | "after", step: () => Promise<unknown>) {
      const real = t.services.sessions;
      const sessions = Object.create(real) as typeof real;
      const original = real[method] as (...args: unknown[]) => Promise<unknown>;
      Object.defineProperty(sessions, method, {
        value: async (...args: unknown[]) => {
          if (when === "before") await step();
          const result = await original.apply(real, args);
          if (when === "after") await step();
          return result;
        },
      });
      return { ...t.services, sessions };
    }

    it("changed after the epoch was read, before the device is recorded: invalid credentials, the attempt is in the history, no session", async () => {
      const a = await account();
      const deps = withStep("currentEpoch", "after", a.changePasswordKeepingSessions);
      await expect(login(deps, { email: a.email, password: PASSWORD }, client)).rejects.toMatchObject({ code: "UNAUTHORIZED", reason: "invalid_credentials" });
      expect(await a.outcome()).toEqual({ rows: [{ outcome: "failure", reason: "password_changed" }], sessions: [a.ownerSessionId] });
    });

    it("changed after the device was recorded, before the session exists: refused by the epoch, the history row says blocked", async () => {
      const a = await account();
      // The session script runs right after the recording statement.
      const deps = withStep("createSession", "before", a.changePasswordKeepingSessions);
      await expect(login(deps, { email: a.email, password: PASSWORD }, client)).rejects.toMatchObject({ code: "UNAUTHORIZED", reason: "sessions_ended" });
      expect(await a.outcome()).toEqual({ rows: [{ outcome: "blocked", reason: "sessions_ended" }], sessions: [a.ownerSessionId] });
      // The new password signs in as usual.
      expect((await login(t.services, { email: a.email, password: NEW_PASSWORD }, client)) as { session: unknown }).toHaveProperty("session");
    });

    it("Redis failing at the session script: the outage is the answer, the history row says blocked, not success", async () => {
      const a = await account();
      const sessions = Object.create(t.services.sessions) as typeof t.services.sessions;
      Object.defineProperty(sessions, "createSession", { value: () => Promise.reject(redisUnavailable(new Error("connection lost"))) });
      await expect(login({ ...t.services, sessions }, { email: a.email, password: PASSWORD }, client)).rejects.toMatchObject({ name: "RedisUnavailableError" });
      expect(await a.outcome()).toEqual({ rows: [{ outcome: "blocked", reason: "session_not_created" }], sessions: [a.ownerSessionId] });
    });
  });
});
