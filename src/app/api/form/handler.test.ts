import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formErrorMessage } from "~/lib/form-errors";
import { PEER_ADDRESS_HEADER } from "~/server/platform/client-ip";
import { PASSWORD } from "~/test/fixtures";
import { APP_URL, createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { formPostHandler, MAX_FORM_BYTES, type FormMode } from "./handler";
import { Secret, TOTP } from "otpauth";

const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

describe("sign-in and register forms posted without JavaScript (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  beforeAll(async () => {
    t = await createTestServices({ NEW_DEVICE_APPROVAL: "true", SESSION_LIMIT: "0" });
  });
  afterAll(() => t.close());

  function post(mode: FormMode, fields: Record<string, string> | string, headers: Record<string, string> = {}) {
    const body = typeof fields === "string" ? fields : new URLSearchParams(fields).toString();
    const req = new Request(`${APP_URL}/api/form/${mode}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: APP_URL, "user-agent": UA, [PEER_ADDRESS_HEADER]: "127.0.0.1", ...headers },
      body,
    });
    return formPostHandler(mode, async () => t.services)(req);
  }

  const cookiesOf = (res: Response) => res.headers.getSetCookie().map((h) => h.split(";")[0]!);
  const sessionCookie = (res: Response) => cookiesOf(res).find((c) => c.startsWith("handoff_session=") && c.length > "handoff_session=".length);

  it("register: a session cookie and 303 to the dashboard; the cookie is a working session", async () => {
    const email = uniqueEmail("form");
    const res = await post("register", { email, password: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard");
    const cookie = sessionCookie(res);
    expect(cookie).toBeDefined();

    const browser = new TestBrowser(t.services, { userAgent: UA });
    for (const c of cookiesOf(res)) browser.cookies.set(c.slice(0, c.indexOf("=")), decodeURIComponent(c.slice(c.indexOf("=") + 1)));
    const me = await browser.query<{ user: { email: string } }>("auth.me");
    expect(me.data?.user.email).toBe(email);
  });

  it("sign-in from a known browser: a session and 303 to a safe `next`, never to another site", async () => {
    const email = uniqueEmail("form");
    const registered = await post("register", { email, password: PASSWORD });
    // The last one set, as a browser keeps it: the browser is re-issued its cookie when it becomes trusted.
    const deviceCookie = cookiesOf(registered)
      .filter((c) => c.startsWith("handoff_device="))
      .at(-1)!;
    const signedIn = await post("login", { email, password: PASSWORD, next: "/scan" }, { cookie: deviceCookie });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("location")).toBe("/scan");
    expect(sessionCookie(signedIn)).toBeDefined();
    const offSite = await post("login", { email, password: PASSWORD, next: "//evil.example/x" }, { cookie: deviceCookie });
    expect(offSite.headers.get("location")).toBe("/dashboard");
  });

  it("with two-factor on: the sign-in redirects to the second-factor page, whose form (also without JavaScript) completes it", async () => {
    const email = uniqueEmail("form-2fa");
    const registered = await post("register", { email, password: PASSWORD });
    const owner = new TestBrowser(t.services, { userAgent: UA });
    for (const c of cookiesOf(registered)) owner.cookies.set(c.slice(0, c.indexOf("=")), decodeURIComponent(c.slice(c.indexOf("=") + 1)));
    const { secret } = ((await owner.mutation("twoFactor.setup")).data as { secret: string })!;
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    t.clock.now = Math.floor(Date.now() / 30_000) * 30_000 + 1000;
    try {
      expect((await owner.mutation("twoFactor.enable", { code: totp.generate({ timestamp: t.clock.now }) })).error).toBeUndefined();
      const deviceCookie = [...owner.cookies].find(([name]) => name === "handoff_device")!.join("=");
      const signIn = await post("login", { email, password: PASSWORD, next: "/scan" }, { cookie: deviceCookie });
      expect(signIn.status).toBe(303);
      const location = new URL(signIn.headers.get("location")!, APP_URL);
      expect(location.pathname).toBe("/login/second-factor");
      expect(location.searchParams.get("next")).toBe("/scan");
      expect(sessionCookie(signIn)).toBeUndefined();
      const challengeId = location.searchParams.get("challenge")!;
      const cookie = [deviceCookie, ...cookiesOf(signIn).filter((c) => c.startsWith("handoff_2fa="))].join("; ");
      const wrong = await post("second-factor", { challengeId, code: "000000", next: "/scan" }, { cookie });
      expect(wrong.headers.get("location")).toBe(`/login/second-factor?challenge=${challengeId}&error=wrong_code&next=%2Fscan`);
      expect(formErrorMessage("wrong_code")).toMatch(/not right/);
      const right = await post("second-factor", { challengeId, code: totp.generate({ timestamp: t.clock.now + 30_000 }), next: "/scan" }, { cookie });
      expect(right.headers.get("location")).toBe("/scan");
      expect(sessionCookie(right)).toBeDefined();
      // Spent: posting again starts over at sign-in.
      const again = await post("second-factor", { challengeId, code: "123456" }, { cookie });
      expect(again.headers.get("location")).toBe("/login?error=second_factor_expired");
    } finally {
      t.clock.now = undefined;
    }
  });

  it("errors come back as a short code on the form's page: never the email or the password", async () => {
    const email = uniqueEmail("form-err");
    await post("register", { email, password: PASSWORD });
    const secret = "my-wrong-secret-password";
    const cases: [FormMode, Record<string, string>, string][] = [
      ["login", { email, password: secret }, "/login?error=invalid"],
      ["login", { email: uniqueEmail("nobody"), password: secret }, "/login?error=invalid"],
      ["login", { email: "not-an-email", password: secret }, "/login?error=email"],
      ["login", { email }, "/login?error=password"],
      ["register", { email, password: PASSWORD }, "/register?error=exists"],
      ["register", { email: uniqueEmail("short"), password: "short" }, "/register?error=new_password"],
      ["register", { email: "no-at-sign.example", password: PASSWORD, next: "/scan" }, "/register?error=email&next=%2Fscan"],
    ];
    for (const [mode, fields, location] of cases) {
      const res = await post(mode, fields);
      expect(res.status, location).toBe(303);
      expect(res.headers.get("location")).toBe(location);
      expect(res.headers.get("location")).not.toContain(secret);
      expect(res.headers.get("location")).not.toContain("password=");
      expect(res.headers.get("location")).not.toContain(encodeURIComponent(fields.email ?? "@@"));
      expect(sessionCookie(res)).toBeUndefined();
      expect(formErrorMessage(new URL(location, APP_URL).searchParams.get("error") ?? undefined)).toBeTruthy();
    }
  });

  it("a new device while signed in elsewhere needs JavaScript: it is told so and the owner's request is withdrawn", async () => {
    const email = uniqueEmail("form-approval");
    const laptop = new TestBrowser(t.services, { userAgent: UA });
    const reg = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    const res = await post("login", { email, password: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login?error=approval_needs_js");
    expect(sessionCookie(res)).toBeUndefined();
    expect(cookiesOf(res).some((c) => c.startsWith("handoff_approval="))).toBe(false);
    // Nothing is left waiting on the owner's devices.
    expect(await t.services.approvals.listForUser(reg.data!.user.id)).toEqual([expect.objectContaining({ status: "cancelled" })]);
  });

  it("refuses cross-site posts, other encodings and bodies over the limit", async () => {
    const email = uniqueEmail("form-refused");
    // Answered in the API's error shape, with data.reason.
    const refused = async (res: Response) => ({ status: res.status, ...((await res.json()) as { error: { json: { data: object } } }).error.json.data });
    const crossSite = await post("register", { email, password: PASSWORD }, { origin: "https://evil.example" });
    expect(await refused(crossSite)).toEqual({ status: 403, code: "FORBIDDEN", httpStatus: 403, reason: "origin_mismatch" });
    const noOrigin = await post("register", { email, password: PASSWORD }, { origin: "" });
    expect(await refused(noOrigin)).toEqual({ status: 403, code: "FORBIDDEN", httpStatus: 403, reason: "origin_mismatch" });
    const json = await post("register", JSON.stringify({ email, password: PASSWORD }), { "content-type": "application/json" });
    expect(await refused(json)).toEqual({ status: 415, code: "UNSUPPORTED_MEDIA_TYPE", httpStatus: 415, reason: "protocol_error" });
    const big = await post("register", { email, password: PASSWORD, filler: "x".repeat(MAX_FORM_BYTES) });
    expect(await refused(big)).toEqual({ status: 413, code: "PAYLOAD_TOO_LARGE", httpStatus: 413, reason: "body_too_large" });
    // None of them created the account.
    expect((await post("register", { email, password: PASSWORD })).headers.get("location")).toBe("/dashboard");
  });

  it("stops reading a body without Content-Length once it passes the limit", async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1024;
        if (pulled > 1024 * 1024) controller.close();
        else controller.enqueue(new Uint8Array(1024).fill(0x61));
      },
    });
    const req = new Request(`${APP_URL}/api/form/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: APP_URL },
      body: stream,
      duplex: "half",
    } as RequestInit);
    const res = await formPostHandler("login", async () => t.services)(req);
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThan(64 * 1024);
  });
});

describe("the form's ?error= codes for limits (chosen by data.reason)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  beforeAll(async () => {
    t = await createTestServices({ NEW_DEVICE_APPROVAL: "false", SESSION_LIMIT: "1", SESSION_LIMIT_POLICY: "reject", SIGN_IN_RATE_LIMIT: "2" });
  });
  afterAll(() => t.close());

  it("a full `reject` session cap is session_limit; the sign-in rate limit is throttled with its wait", async () => {
    const post = (mode: FormMode, fields: Record<string, string>) =>
      formPostHandler(
        mode,
        async () => t.services,
      )(
        new Request(`${APP_URL}/api/form/${mode}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: APP_URL, "user-agent": UA, [PEER_ADDRESS_HEADER]: "127.0.0.9" },
          body: new URLSearchParams(fields).toString(),
        }),
      );
    const email = uniqueEmail("form-limits");
    expect((await post("register", { email, password: PASSWORD })).headers.get("location")).toBe("/dashboard");
    expect((await post("login", { email, password: PASSWORD })).headers.get("location")).toBe("/login?error=session_limit");
    expect((await post("login", { email, password: PASSWORD })).headers.get("location")).toBe("/login?error=session_limit");
    const limited = new URL((await post("login", { email, password: PASSWORD })).headers.get("location")!, APP_URL);
    expect(limited.pathname).toBe("/login");
    expect(limited.searchParams.get("error")).toBe("throttled");
    expect(Number(limited.searchParams.get("retry"))).toBeGreaterThan(0);
  });
});
