import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIREFOX_LINUX, LONDON, PASSWORD } from "~/test/fixtures";
import { clearOfMinuteBoundary, createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import type { RouterOutputs } from "~/trpc/types";

// An attacker's script against the real handler, PostgreSQL and Redis, with the production
// defaults that matter here (30 sign-ins per IP per minute, throttling after 5 failures,
// new-device approval on). Every attack is counted: how many tries, how many were stopped, and
// how many got anything (a session, a token, another user's data). That last number must be 0.

const ATTACKER_IP = "203.0.113.66";
const tally: { attack: string; tries: number; stopped: number; gotThrough: number }[] = [];

function count(attack: string, results: { status: number }[], gotThrough: number) {
  tally.push({ attack, tries: results.length, stopped: results.filter((r) => r.status >= 400).length, gotThrough });
}

describe("attacker script: every attack is stopped and counted", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const attacker = (ip = ATTACKER_IP, origin?: string | null) =>
    new TestBrowser(t.services, { userAgent: FIREFOX_LINUX, origin, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({
      TRUST_PROXY: "true",
      SIGN_IN_RATE_LIMIT: "30",
      ACCOUNT_THROTTLE_AFTER: "5",
      NEW_DEVICE_APPROVAL: "true",
      REGISTER_RATE_LIMIT: "1000",
      SESSION_LIMIT: "0",
    });
  });
  afterAll(async () => {
    console.table(tally);
    await t.close();
  });

  async function victim() {
    const email = uniqueEmail("victim");
    const laptop = new TestBrowser(t.services, { headers: { "x-forwarded-for": LONDON } });
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    return { email, laptop, userId: reg.data!.user.id };
  }

  const gotSession = (r: { data?: unknown }) => (r.data as { status?: string } | undefined)?.status === "signed_in";

  it("credential stuffing from one IP: the per-IP limit stops it after 30 tries; a right password still needs the victim's approval", async () => {
    const { email } = await victim();
    const pairs = Array.from({ length: 99 }, (_, i) => ({ email: uniqueEmail(`leak${i}`), password: `leaked-${i}` }));
    pairs.splice(20, 0, { email, password: PASSWORD });
    await clearOfMinuteBoundary();
    const results = [];
    for (const pair of pairs) results.push(await attacker().mutation<RouterOutputs["auth"]["login"]>("auth.login", pair));
    expect(results.filter((r) => r.status === 429)).toHaveLength(pairs.length - 30);
    const right = results[20]!;
    expect(right.data).toMatchObject({ status: "approval_required" });
    count("credential stuffing, one IP", results, results.filter(gotSession).length);
    expect(results.filter(gotSession)).toHaveLength(0);
  });

  it("credential stuffing from one IPv6 /64, a new address per try: the per-IP limit counts the /64 and stops it after 30", async () => {
    const pairs = Array.from({ length: 40 }, (_, i) => ({ email: uniqueEmail(`leak6-${i}`), password: `leaked-${i}` }));
    await clearOfMinuteBoundary();
    const results = [];
    for (const [i, pair] of pairs.entries()) results.push(await attacker(`2001:db8:66:1:${(i + 1).toString(16)}::${i + 7}`).mutation("auth.login", pair));
    expect(results.filter((r) => r.status === 429)).toHaveLength(10);
    // The next /64 is someone else.
    expect((await attacker("2001:db8:66:2::1").mutation("auth.login", pairs[0])).status).toBe(401);
    count("credential stuffing, one IPv6 /64", results, results.filter(gotSession).length);
  });

  it("credential stuffing from a botnet (a new IP per try) against one account: the account throttle stops it after 5", async () => {
    const { email } = await victim();
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => attacker(`198.18.${i >> 8}.${i & 255}`).mutation("auth.login", { email, password: `guess-${i}` })),
    );
    // 5 guesses are checked; after that one more per elapsed wait (1 s, then 2 s, 4 s, ... after
    // the last failure). On a fast machine the burst ends inside the first wait: exactly 5.
    const burstSeconds = (Date.now() - started) / 1000;
    const waitsPassed = Math.floor(Math.log2(burstSeconds + 1));
    const checked = results.filter((r) => r.status === 401).length;
    expect(checked).toBeGreaterThanOrEqual(5);
    expect(checked).toBeLessThanOrEqual(5 + waitsPassed);
    expect(results.filter((r) => r.status === 429)).toHaveLength(60 - checked);
    count("credential stuffing, botnet, one account", results, results.filter(gotSession).length);
  });

  it("password spraying (one common password across 40 accounts): the IP limit stops it; the one hit gets an approval request, not a session", async () => {
    const victims = await Promise.all(Array.from({ length: 3 }, () => victim()));
    const emails = [...Array.from({ length: 37 }, () => uniqueEmail("spray")), ...victims.map((v) => v.email)];
    await clearOfMinuteBoundary();
    const results = [];
    for (const email of emails.reverse())
      results.push(await attacker("203.0.113.67").mutation<RouterOutputs["auth"]["login"]>("auth.login", { email, password: PASSWORD }));
    expect(results.slice(0, 3).map((r) => (r.data as { status: string }).status)).toEqual(["approval_required", "approval_required", "approval_required"]);
    expect(results.filter((r) => r.status === 429)).toHaveLength(10);
    count("password spraying", results, results.filter(gotSession).length);
    expect(results.filter(gotSession)).toHaveLength(0);
  });

  it("approval code brute force: 30 concurrent guesses from a hijacked session; 5 are counted, then the request is dead", async () => {
    const { email, laptop } = await victim();
    const request = (await attacker("203.0.113.68").mutation<{ requestId: string; code: string }>("auth.login", { email, password: PASSWORD })).data!;
    const codes = Array.from({ length: 30 }, (_, i) => String((Number(request.code) + 1 + i) % 1_000_000).padStart(6, "0"));
    const results = await Promise.all(codes.map((code) => laptop.mutation("approvals.confirm", { requestId: request.requestId, code })));
    expect(results.every((r) => r.status === 400)).toBe(true);
    // The right code no longer works either.
    expect((await laptop.mutation("approvals.confirm", { requestId: request.requestId, code: request.code })).status).toBe(400);
    const wrong = await t.services.db.securityEvent.count({ where: { type: "approval_code_wrong", detail: { path: ["request"], equals: request.requestId } } });
    expect(wrong).toBe(5);
    count("approval code brute force", results, results.filter((r) => r.status === 200).length);
  });

  it("approval-request flooding with a leaked password from many IPs: at most 10 a minute reach the owner", async () => {
    const { email, userId } = await victim();
    await clearOfMinuteBoundary();
    const results = [];
    for (let i = 0; i < 25; i++)
      results.push(await attacker(`198.19.0.${i + 1}`).mutation<RouterOutputs["auth"]["login"]>("auth.login", { email, password: PASSWORD }));
    expect(results.filter((r) => (r.data as { status?: string } | undefined)?.status === "approval_required")).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(15);
    expect(results[24]!.error?.message).toMatch(/^Too many sign-in requests for this account\. Try again in \d+ s\.$/);
    expect(await t.services.db.securityEvent.count({ where: { userId, type: "approval_requested" } })).toBe(10);
    count("approval-request flooding", results, results.filter(gotSession).length);
  });

  it("QR token guessing: 300 made-up tokens, none inspects anything", async () => {
    const { laptop } = await victim();
    // A real one exists at the same time.
    await attacker().mutation("handoff.start");
    const results = [];
    for (let i = 0; i < 300; i++) {
      const token = `${crypto.randomBytes(16).toString("base64url")}.${crypto.randomBytes(32).toString("base64url")}`;
      results.push(await laptop.mutation("handoff.inspect", { token }));
    }
    expect(results.every((r) => r.status === 400)).toBe(true);
    count("QR token guessing", results, results.filter((r) => r.status === 200).length);
  });

  it("cross-user ids: another user's sessions, devices, requests and handoffs are not found", async () => {
    const target = await victim();
    const me = await victim();
    const targetSession = (await target.laptop.query<{ session: { id: string; deviceId: string } }>("auth.me")).data!.session;
    const request = (await attacker("203.0.113.69").mutation<{ requestId: string; code: string }>("auth.login", { email: target.email, password: PASSWORD }))
      .data!;
    const offer = (await target.laptop.mutation<{ qrUrl: string; id: string }>("handoff.offer")).data!;
    await me.laptop.mutation("account.reauthenticate", { password: PASSWORD });
    const results = [
      await me.laptop.mutation("sessions.revoke", { sessionId: targetSession.id }),
      await me.laptop.mutation("devices.rename", { deviceId: targetSession.deviceId, name: "pwned" }),
      await me.laptop.mutation("devices.forget", { deviceId: targetSession.deviceId }),
      await me.laptop.mutation("approvals.confirm", { requestId: request.requestId, code: request.code }),
      await me.laptop.mutation("approvals.deny", { requestId: request.requestId }),
      await me.laptop.mutation("handoff.approve", { token: offer.qrUrl.split("/").pop()! }),
      await me.laptop.mutation("handoff.deny", { token: offer.qrUrl.split("/").pop()! }),
    ];
    for (const r of results) expect([400, 404]).toContain(r.status);
    expect((await target.laptop.query("auth.me")).status).toBe(200);
    const devices = (await target.laptop.query<RouterOutputs["devices"]["list"]>("devices.list")).data!;
    expect(devices.map((d) => d.name)).not.toContain("pwned");
    count("cross-user ids", results, 0);
  });

  it("replayed cookies and tokens after sign-out are refused", async () => {
    const { email, laptop } = await victim();
    const stolen = new Map(laptop.cookies);
    await laptop.mutation("auth.logout");
    const replay = attacker();
    replay.cookies = stolen;
    const cli = attacker(LONDON, null);
    // The victim's app signs in (no session is left, so no approval is asked) and signs out again.
    const tokens = (
      await new TestBrowser(t.services, { origin: null, headers: { "x-forwarded-for": LONDON } }).mutation<{
        status: string;
        refreshToken: string;
        accessToken: string;
      }>("tokens.issue", { email, password: PASSWORD, deviceName: "victim CLI" })
    ).data!;
    expect(tokens.status).toBe("issued");
    cli.headers.authorization = `Bearer ${tokens.accessToken}`;
    await cli.mutation("tokens.revoke");
    const results = [
      await replay.query("auth.me"),
      await replay.query("sessions.list"),
      await replay.mutation("sessions.revokeOthers"),
      await cli.query("auth.me"),
      await attacker(ATTACKER_IP, null).mutation("tokens.refresh", { refreshToken: tokens.refreshToken }),
    ];
    expect(results.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    count("replayed cookie / tokens after sign-out", results, 0);
  });

  it("forged or missing Origin on cookie mutations is refused (CSRF)", async () => {
    const { laptop } = await victim();
    const results = [];
    for (const origin of ["https://evil.example", "null", "http://localhost:3000.evil.example", "http://localhost:3001", null]) {
      const forged = attacker(LONDON, origin);
      forged.cookies = laptop.cookies;
      results.push(
        await forged.mutation("sessions.revokeOthers"),
        await forged.mutation("sessions.lockout", { password: PASSWORD }),
        await forged.mutation("handoff.offer"),
      );
    }
    expect(results.every((r) => r.status === 403)).toBe(true);
    expect((await laptop.query("auth.me")).status).toBe(200);
    count("forged Origin (CSRF)", results, results.filter((r) => r.status === 200).length);
  });

  it("oversized and malformed bodies: typed errors, never a 500", async () => {
    const { laptop } = await victim();
    const bodies = [
      "x".repeat(2_000_000),
      "{".repeat(10_000),
      JSON.stringify({ json: { email: "a@b.co", password: "p".repeat(1_000_000) } }),
      JSON.stringify({ json: Array.from({ length: 100_000 }, () => ({})) }),
      '{"json":{"__proto__":{"admin":true},"email":"a@b.co","password":"x"}}',
      "\u0000\u0001\u0002",
    ];
    const results = [];
    for (const body of bodies) {
      for (const path of ["auth.login", "sessions.revoke", "tokens.refresh"]) {
        const res = await laptop.raw(path, { method: "POST", body });
        results.push({ status: res.status });
      }
    }
    expect(results.every((r) => r.status >= 400 && r.status < 500)).toBe(true);
    count("oversized / malformed input", results, 0);
  });
});
