import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, setLogger } from "~/server/platform/logger";
import { metrics } from "~/server/platform/metrics";
import { APP_URL, clearOfMinuteBoundary, createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import type { RouterOutputs } from "~/trpc/types";
import { handleTrpcRequest } from "./http-handler";

type Login = RouterOutputs["auth"]["login"];
type Issued = Extract<RouterOutputs["tokens"]["issue"], { status: "issued" }>;

/** Everything the process logs during these tests, line by line (a memory stream instead of stdout). */
const lines: string[] = [];
const memory = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    done();
  },
});

/** A metric's current value for these labels, read back from the registry. */
async function valueOf(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics().registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const found = values.filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want));
  return found.reduce((sum, v) => sum + v.value, 0);
}

describe("request logs and metrics (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  let previous: ReturnType<typeof setLogger>;

  beforeAll(async () => {
    previous = setLogger(createLogger({ level: "info", destination: memory }));
    t = await createTestServices({ NEW_DEVICE_APPROVAL: "true", SESSION_LIMIT: "0", LIVE_POLL_MS: "100", SIGN_IN_RATE_LIMIT: "3" });
  });
  afterAll(async () => {
    setLogger(previous);
    await t.close();
  });

  it("logs one JSON line per request with its id, procedures, status, code, reason, duration and user, and no secret used", async () => {
    const secrets: string[] = [];
    const keep = (...values: (string | undefined | null)[]) => {
      for (const v of values) if (v) secrets.push(v);
    };
    const start = lines.length;
    const email = uniqueEmail("secretive");
    const password = "correct horse battery staple 7";
    const newPassword = "an even longer new passphrase 8";
    keep(email, password, newPassword, "wrong password for the log test");

    const laptop = new TestBrowser(t.services, { headers: { "x-request-id": "client-chosen-id-0001" } });
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password });
    const userId = reg.data!.user.id;
    expect(reg.headers.get("x-request-id")).toBe("client-chosen-id-0001");
    const wrong = await new TestBrowser(t.services, { ip: "198.51.100.3" }).mutation("auth.login", { email, password: "wrong password for the log test" });
    expect(wrong.error?.data.code).toBe("UNAUTHORIZED");
    expect(wrong.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    // A request id that is not an id (spaces, an address) is replaced, not logged.
    const odd = await new TestBrowser(t.services, { headers: { "x-request-id": `please log ${email}` } }).query("auth.me");
    expect(odd.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

    // A new device: the approval code it is shown, typed wrong then right on the laptop.
    const phone = new TestBrowser(t.services, {
      ip: "198.51.100.2",
      userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1",
    });
    const asked = (await phone.mutation<Login>("auth.login", { email, password })).data as Extract<Login, { status: "approval_required" }>;
    expect(asked.status).toBe("approval_required");
    const wrongCode = String((Number(asked.code) + 1) % 1_000_000).padStart(6, "0");
    keep(asked.code, wrongCode);
    await laptop.mutation("approvals.confirm", { requestId: asked.requestId, code: wrongCode });
    await laptop.mutation("approvals.confirm", { requestId: asked.requestId, code: asked.code });
    await phone.mutation("approvals.complete", { requestId: asked.requestId });

    // Tokens: issue, use, refresh.
    const cli = new TestBrowser(t.services, { origin: null, ip: "198.51.100.4" });
    const pending = (
      await cli.mutation<Extract<RouterOutputs["tokens"]["issue"], { status: "approval_required" }>>("tokens.issue", {
        email,
        password,
        deviceName: "Log test CLI",
      })
    ).data!;
    expect(pending.status).toBe("approval_required");
    keep(pending.code, pending.approvalSecret, pending.deviceKey);
    await laptop.mutation("approvals.confirm", { requestId: pending.requestId, code: pending.code });
    const complete = { requestId: pending.requestId, approvalSecret: pending.approvalSecret, deviceName: "Log test CLI", deviceKey: pending.deviceKey };
    const issued = (await cli.mutation<Issued>("tokens.complete", complete)).data!;
    expect(issued.status).toBe("issued");
    keep(issued.accessToken, issued.refreshToken, issued.deviceKey);
    cli.headers.authorization = `Bearer ${issued.accessToken}`;
    expect((await cli.query("sessions.list")).status).toBe(200);
    delete cli.headers.authorization;
    const refreshed = (await cli.mutation<{ accessToken: string; refreshToken: string }>("tokens.refresh", { refreshToken: issued.refreshToken })).data!;
    keep(refreshed.accessToken, refreshed.refreshToken);

    // A QR handoff: its token travels in inputs and URLs.
    const desk = new TestBrowser(t.services);
    const started = (await desk.mutation<{ qrUrl: string }>("handoff.start")).data!;
    const qrToken = started.qrUrl.split("/").pop()!;
    keep(qrToken);
    await laptop.mutation("handoff.inspect", { token: qrToken });

    await laptop.mutation("account.changePassword", { currentPassword: password, newPassword, signOutOtherSessions: false });
    await laptop.mutation("account.reauthenticate", { password: "wrong password for the log test" });

    keep(...laptop.cookies.values(), ...phone.cookies.values(), ...desk.cookies.values());

    const logged = lines.slice(start);
    expect(logged.length).toBeGreaterThanOrEqual(14);
    const parsed = logged.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of parsed) {
      expect(line).toMatchObject({ level: expect.any(String), time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), msg: expect.any(String) });
      // Only what is not a time or a process id, so a 6-digit code cannot match a pid by chance.
      const { time: _time, pid: _pid, durationMs: _duration, ...rest } = line;
      const text = JSON.stringify(rest);
      for (const secret of secrets) expect(text, `a secret in ${text}`).not.toContain(secret);
      expect(text).not.toMatch(/[A-Za-z0-9._%+-]+@example\.com/);
    }

    const requests = parsed.filter((l) => l.msg === "request");
    expect(requests.length).toBe(parsed.length);
    const byProcedure = (name: string) => requests.filter((l) => (l.procedures as string[]).includes(name));
    expect(byProcedure("auth.register")[0]).toMatchObject({
      level: "info",
      reqId: "client-chosen-id-0001",
      method: "POST",
      route: "/api/trpc",
      status: 200,
      durationMs: expect.any(Number),
      userId,
    });
    expect(byProcedure("auth.login")[0]).toMatchObject({ level: "info", status: 401, trpcCode: "UNAUTHORIZED", reason: "invalid_credentials", userId });
    expect(byProcedure("approvals.confirm")[0]).toMatchObject({ status: 400, trpcCode: "BAD_REQUEST", reason: "wrong_code", userId });
    expect(byProcedure("approvals.confirm")[1]).toMatchObject({ status: 200, userId });
    expect(byProcedure("sessions.list")[0]).toMatchObject({ status: 200, userId });
    expect(byProcedure("account.reauthenticate")[0]).toMatchObject({ status: 400, reason: "wrong_password", userId });
    expect(byProcedure("auth.me")[0]).toMatchObject({ status: 401, reason: "not_signed_in" });
    expect(byProcedure("auth.me")[0]!.userId).toBeUndefined();
    // Typed errors are the client's, not the server's: none is logged as an error.
    expect(parsed.filter((l) => l.level === "error")).toEqual([]);
  });

  it("logs an unexpected error once, with its stack, on the request's line", async () => {
    const start = lines.length;
    const res = await handleTrpcRequest(new Request(`${APP_URL}/api/trpc/auth.me`), async () => {
      throw new Error("boom: the services could not be built");
    });
    expect(res.status).toBe(500);
    const logged = lines.slice(start).map((l) => JSON.parse(l) as { level: string; status: number; trpcCode: string; reason: string; err?: { stack: string } });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: "error", status: 500, trpcCode: "INTERNAL_SERVER_ERROR", reason: "internal" });
    expect(logged[0]!.err!.stack).toMatch(/boom: the services could not be built\n\s+at /);
  });

  it("counts sign-ins by outcome and method, revocations, approvals, rate-limit hits and request durations", async () => {
    const before = {
      success: await valueOf("handoff_sign_ins_total", { outcome: "success", method: "password" }),
      failure: await valueOf("handoff_sign_ins_total", { outcome: "failure", method: "password" }),
      revoked: await valueOf("handoff_session_revocations_total", { reason: "revoked" }),
      limited: await valueOf("handoff_rate_limit_hits_total", { limit: "signin:ip" }),
      loginCalls: await valueOf("handoff_request_duration_seconds", { procedure: "auth.login", code: "UNAUTHORIZED" }),
    };
    const email = uniqueEmail();
    // The four sign-ins from one address below must fall in one rate-limit window.
    await clearOfMinuteBoundary();
    const laptop = new TestBrowser(t.services, { ip: "203.0.113.7" });
    await laptop.mutation("auth.register", { email, password: "a fine password 1" });
    const other = new TestBrowser(t.services, { ip: "203.0.113.8" });
    // A known device (cookie copied from the laptop) skips approval: a plain password sign-in.
    other.cookies.set("handoff_device", laptop.cookies.get("handoff_device")!);
    expect((await other.mutation("auth.login", { email, password: "a wrong password 1" })).status).toBe(401);
    expect((await other.mutation<Login>("auth.login", { email, password: "a fine password 1" })).data).toMatchObject({ status: "signed_in" });
    const sessions = (await laptop.query<{ id: string; current: boolean }[]>("sessions.list")).data!;
    await laptop.mutation("sessions.revoke", { sessionId: sessions.find((s) => !s.current)!.id });
    // SIGN_IN_RATE_LIMIT=3 per IP and minute: the fourth attempt from 203.0.113.8 is refused.
    await other.mutation("auth.login", { email, password: "a wrong password 1" });
    expect((await other.mutation("auth.login", { email, password: "a wrong password 1" })).error?.data.reason).toBe("rate_limited");

    // Registration signs in too: two successful password sign-ins.
    expect(await valueOf("handoff_sign_ins_total", { outcome: "success", method: "password" })).toBe(before.success + 2);
    expect(await valueOf("handoff_sign_ins_total", { outcome: "failure", method: "password" })).toBeGreaterThanOrEqual(before.failure + 2);
    expect(await valueOf("handoff_session_revocations_total", { reason: "revoked" })).toBe(before.revoked + 1);
    expect(await valueOf("handoff_rate_limit_hits_total", { limit: "signin:ip" })).toBe(before.limited + 1);
    // A histogram's values include _count: each 401 sign-in observed once more.
    const text = await metrics().registry.metrics();
    expect(text).toMatch(/handoff_request_duration_seconds_count\{procedure="auth\.login",code="UNAUTHORIZED"\} \d+/);
    expect(text).toMatch(/handoff_request_duration_seconds_count\{procedure="auth\.login",code="TOO_MANY_REQUESTS"\} \d+/);
    expect(text).toContain("nodejs_eventloop_lag_p99_seconds");
    expect(await valueOf("handoff_request_duration_seconds", { procedure: "auth.login", code: "UNAUTHORIZED" })).toBeGreaterThan(before.loginCalls);
  });

  it("an unknown procedure is labelled unknown, never with the path a client sent", async () => {
    await new TestBrowser(t.services).query("no.such<script>procedure");
    const text = await metrics().registry.metrics();
    expect(text).toMatch(/handoff_request_duration_seconds_count\{procedure="unknown",code="NOT_FOUND"\} [1-9]/);
    expect(text).not.toContain("no.such");
  });

  it("commas in a path that is not a batch name one unknown procedure (tRPC's reading), so they cannot inflate another procedure's counts", async () => {
    const okBefore = await valueOf("handoff_request_duration_seconds", { procedure: "auth.me", code: "OK" });
    const res = await handleTrpcRequest(new Request(`${APP_URL}/api/trpc/${Array(11).fill("auth.me").join(",")}`), async () => t.services);
    expect(res.status).toBe(404);
    expect(await valueOf("handoff_request_duration_seconds", { procedure: "auth.me", code: "OK" })).toBe(okBefore);
    const refused = await handleTrpcRequest(new Request(`${APP_URL}/api/trpc/${Array(300).fill("auth.me").join(",")}?batch=1`), async () => t.services);
    expect(refused.status).toBe(400);
    expect(await valueOf("handoff_request_duration_seconds", { procedure: "auth.me", code: "OK" })).toBe(okBefore);
  });

  it("counts an open subscription stream while it is open", async () => {
    const email = uniqueEmail();
    const laptop = new TestBrowser(t.services);
    await laptop.mutation("auth.register", { email, password: "a fine password 1" });
    const open = () => valueOf("handoff_open_subscriptions", { procedure: "sessions.onEvent" });
    const before = await open();
    const abort = new AbortController();
    const res = await laptop.raw("sessions.onEvent", {
      method: "GET",
      query: `input=${encodeURIComponent(JSON.stringify({ json: {} }))}`,
      signal: abort.signal,
    });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    await reader.read();
    expect(await open()).toBe(before + 1);
    await reader.cancel();
    abort.abort();
    expect(await open()).toBe(before);
  });
});
