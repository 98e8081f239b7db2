import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { expect, test } from "@playwright/test";
import { documentedReasons, errorsIn, firstEventsOf } from "../src/test/error-reasons";
import { ALLOWED_ERRORS, ENDS_OWN_SESSION, HANDCRAFTED_INPUTS, MALFORMED_BODIES, PROCEDURES, TRANSPORT_CASES } from "../src/test/fuzz-cases";
import { classicURL } from "../playwright.config";
import { ApiClient, USER_AGENT } from "./api-client";
import { newEmail, PASSWORD } from "./helpers";

// Black-box checks of the API against the production build (`next start`, real PostgreSQL and
// Redis), after pages have rendered: Next.js compiles pages and route handlers into separate
// bundles, and errors that crossed between them used to answer 500. Nothing here imports server code.

const WELL_FORMED_TOKEN = "A".repeat(43);
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

// Extra servers some tests start, offset like E2E_PORT so that parallel runs on one machine do not collide.
const PORT_OFFSET = Number(process.env.E2E_PORT ?? 3100) - 3100;
const SPARE_PORT = 3190 + PORT_OFFSET;
const SPARE_REDIS_PORT = 6391 + PORT_OFFSET;

/** The public catalogue of data.reason values: the README's table (a vitest test keeps it equal to the server's). */
const REASONS = new Set(documentedReasons(fs.readFileSync(path.resolve("README.md"), "utf8")).map((row) => row.reason));
/** How long an accepted subscription is read for an error before it counts as streaming. */
const STREAM_GRACE_MS = 300;

/** Checks an error's data.reason is in the catalogue; returns it. */
function expectCatalogued(reason: unknown, what: string) {
  expect(REASONS.has(reason as string), `${what}: data.reason ${JSON.stringify(reason)} is not in README's Error reasons`).toBe(true);
  return reason as string;
}

/**
 * Any status under 500; every error in the answer (one, a batch's, a subscription's first event)
 * has one of the typed codes and a data.reason from the catalogue. Returns the errors.
 */
async function expectTyped(res: Response, what: string) {
  // A request line over Node's 16 KB header limit (a 30 KB input in a query) is refused by Node's
  // HTTP parser with a bare 431 before the app sees it: the one error answer that cannot have a reason.
  if (res.status === 431) {
    expect(await res.text(), what).toBe("");
    return [];
  }
  const contentType = res.headers.get("content-type");
  const text = contentType?.includes("text/event-stream") ? await firstEventsOf(res, STREAM_GRACE_MS) : await res.text();
  expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500);
  const errors = errorsIn(text, contentType);
  if (res.status >= 400) expect(errors.length, `${what}: an error answer without an error: ${text.slice(0, 300)}`).toBeGreaterThan(0);
  for (const error of errors) {
    expect(ALLOWED_ERRORS.has(error.code ?? ""), `${what}: ${text.slice(0, 300)}`).toBe(true);
    expectCatalogued(error.reason, `${what}: ${text.slice(0, 300)}`);
  }
  return errors;
}

/**
 * The status of a request whose body is too large, or "closed" when the server answered and closed
 * the connection before the client had finished sending (the client then sees EPIPE/ECONNRESET):
 * both mean the body was refused without being read. An answer that arrived must say why (data.reason).
 */
async function statusOrClosed(sending: Promise<Response>): Promise<number | "closed"> {
  try {
    const res = await sending;
    const errors = await expectTyped(res, "an oversized body").catch((error: unknown) => {
      // The connection may close while the answer is read: the status stands.
      if (String((error as { cause?: { code?: string } }).cause?.code ?? "").match(/EPIPE|ECONNRESET|UND_ERR_SOCKET/)) return null;
      throw error;
    });
    if (res.status === 413 && errors) expect(errors.map((e) => e.reason)).toEqual(["body_too_large"]);
    return res.status;
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code === "EPIPE" || code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "closed";
    throw error;
  }
}

async function renderPages(baseURL: string) {
  for (const path of ["/", "/login", "/register", "/dashboard", "/scan", `/handoff/${WELL_FORMED_TOKEN}`, `/continue/${WELL_FORMED_TOKEN}`, "/no-such-page"]) {
    const res = await fetch(`${baseURL}${path}`, { redirect: "manual", headers: { "user-agent": USER_AGENT } });
    expect(res.status, path).toBeLessThan(500);
  }
}

async function signedUp(baseURL: string) {
  const client = new ApiClient(baseURL);
  const email = newEmail("blackbox");
  const res = await client.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
  expect(res.status).toBe(200);
  return { client, email, userId: res.data!.user.id };
}

test.describe("the production server's API (black box)", () => {
  test.beforeAll(async ({ baseURL }) => {
    await renderPages(baseURL!);
  });

  test("after pages have rendered, QR and approval errors are typed 4xx, never 500", async ({ baseURL }) => {
    const anonymous = new ApiClient(baseURL!);
    const { client: signedIn } = await signedUp(baseURL!);
    for (const client of [anonymous, signedIn]) {
      for (const path of ["handoff.inspect", "handoff.claim", "handoff.approve", "handoff.deny", "handoff.complete"]) {
        const res = await client.mutation(path, { token: WELL_FORMED_TOKEN, id: WELL_FORMED_TOKEN });
        expect(res.status, path).toBeGreaterThanOrEqual(400);
        expect(res.status, `${path}: ${JSON.stringify(res.error)}`).toBeLessThan(500);
        expectCatalogued(res.error?.data.reason, path);
      }
      for (const path of ["approvals.confirm", "approvals.deny", "approvals.complete"]) {
        const res = await client.mutation(path, { requestId: UNKNOWN_ID, code: "123456" });
        expect(res.status, `${path}: ${JSON.stringify(res.error)}`).toBeLessThan(500);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expectCatalogued(res.error?.data.reason, path);
      }
    }
    const claim = await anonymous.mutation("handoff.claim", { token: WELL_FORMED_TOKEN });
    expect(claim).toMatchObject({ status: 400, error: { message: "This QR code is no longer valid", data: { code: "BAD_REQUEST", reason: "qr_invalid" } } });
  });

  test("over a `reject` session cap (PRESET=classic), the third sign-in is TOO_MANY_REQUESTS, not 500", async () => {
    await expect.poll(async () => (await fetch(`${classicURL}/api/health`).catch(() => null))?.status, { timeout: 60_000 }).toBe(200);
    await renderPages(classicURL);
    const { client: first, email } = await signedUp(classicURL);
    // The same browser (its device cookie) signing in again is a known device: no approval.
    const sameDevice = () => {
      const client = new ApiClient(classicURL);
      for (const [name, value] of first.cookies) if (name.endsWith("handoff_device")) client.cookies.set(name, value);
      return client;
    };
    expect((await sameDevice().mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
    const third = await sameDevice().mutation("auth.login", { email, password: PASSWORD });
    expect(third.status).toBe(429);
    expect(third.error).toMatchObject({ data: { code: "TOO_MANY_REQUESTS", reason: "session_limit" } });
    expect(third.error!.message).toMatch(/Already 2 sessions active/);
  });

  test("every procedure fed garbage, signed in and out: never a 500", async ({ baseURL }) => {
    // About 80 sequential requests per procedure (every case, signed in and out); the list grows with the API,
    // and the default server now runs on Redis Cluster (2.5 min on one Redis, 4.9 min on the cluster, loaded machine).
    test.setTimeout(600_000);
    const anonymous = new ApiClient(baseURL!);
    const { client: signedIn } = await signedUp(baseURL!);
    const send = async (client: ApiClient, path: string, type: string, input: unknown) => {
      const body = JSON.stringify({ json: input });
      if (type === "mutation") {
        await expectTyped(await client.raw(path, { method: "POST", body }), `${path} ${body.slice(0, 80)}`);
        return;
      }
      // A subscription answers 200 and streams: its error, if any, is its first event.
      const abort = new AbortController();
      const res = await client.raw(path, { query: `input=${encodeURIComponent(body)}`, signal: abort.signal });
      await expectTyped(res, `${path} ${body.slice(0, 80)}`);
      abort.abort();
    };
    for (const [path, type] of PROCEDURES) {
      for (const input of HANDCRAFTED_INPUTS) await send(anonymous, path, type, input);
      if (!ENDS_OWN_SESSION.has(path)) for (const input of HANDCRAFTED_INPUTS) await send(signedIn, path, type, input);
      await fc.assert(
        fc.asyncProperty(fc.anything({ maxDepth: 3 }), (input) => send(anonymous, path, type, input)),
        { numRuns: 10 },
      );
      for (const body of MALFORMED_BODIES) await expectTyped(await anonymous.raw(path, { method: "POST", body }), `${path} body ${body.slice(0, 60)}`);
      const wrongMethod = await expectTyped(
        await anonymous.raw(path, { method: type === "mutation" ? "GET" : "POST", ...(type === "mutation" ? {} : { body: "{}" }) }),
        `${path} wrong method`,
      );
      expect(wrongMethod.map((e) => e.reason)).toEqual(["protocol_error"]);
    }
    // The session survived all of it.
    expect((await signedIn.query("auth.me")).status).toBe(200);
  });

  test("malformed superjson meta: 400 with a fixed message, no internal text", async ({ baseURL }) => {
    const client = new ApiClient(baseURL!);
    for (const meta of [{ values: { email: "notarray" } }, { values: { email: ["bigint"] } }, { values: ["class", "X"] }]) {
      const res = await client.raw("auth.login", { method: "POST", body: JSON.stringify({ json: { email: "a@b.co", password: "x" }, meta }) });
      const text = await res.text();
      expect(res.status, text).toBe(400);
      expect(text).toContain("The request's input is malformed.");
      expect(text).not.toMatch(/BigInt|call stack|a@b\.co/);
      expect(errorsIn(text, res.headers.get("content-type")).map((e) => e.reason)).toEqual(["malformed_input"]);
    }
  });

  test("request bodies over 64 KB are refused with 413; batches over 10 calls with 400", async ({ baseURL }) => {
    const client = new ApiClient(baseURL!);
    const big = await statusOrClosed(
      client.raw("auth.login", { method: "POST", body: JSON.stringify({ json: { email: "a@b.co", password: "x".repeat(300_000) } }) }),
    );
    expect([413, "closed"]).toContain(big);
    let chunks = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++chunks > 40) return controller.close();
        controller.enqueue(new Uint8Array(8192).fill(0x61));
      },
    });
    const chunked = await statusOrClosed(client.raw("auth.login", { method: "POST", body: stream }));
    expect([413, "closed"]).toContain(chunked);
    const batch = (n: number) => client.raw(Array(n).fill("auth.me").join(","), { query: "batch=1&input=%7B%7D" });
    expect((await batch(10)).status).toBe(401);
    const over = await batch(11);
    expect(over.status).toBe(400);
    expect((await expectTyped(over, "batch of 11")).map((e) => e.reason)).toEqual(["batch_too_large"]);
  });

  test("what the transport and the rules refuse: exactly the status and data.reason of each case", async ({ baseURL }) => {
    for (const c of TRANSPORT_CASES) {
      const res = await new ApiClient(baseURL!).raw(c.path, { method: c.method, query: c.query, body: c.body, headers: c.headers });
      const errors = await expectTyped(res, c.name);
      expect(res.status, c.name).toBe(c.status);
      expect(
        errors.map((e) => e.reason),
        c.name,
      ).toEqual(Array(Math.max(errors.length, 1)).fill(c.reason));
    }
  });

  test("the no-JavaScript forms refuse in the API's error shape, with data.reason", async ({ baseURL }) => {
    const post = (headers: Record<string, string>, body = "email=a%40b.co&password=x") =>
      fetch(`${baseURL}/api/form/login`, { method: "POST", redirect: "manual", headers: { "user-agent": USER_AGENT, ...headers }, body });
    const form = { "content-type": "application/x-www-form-urlencoded" };
    for (const [what, res, status, reason] of [
      ["cross-site", await post({ ...form, origin: "https://evil.example" }), 403, "origin_mismatch"],
      ["JSON", await post({ "content-type": "application/json", origin: baseURL! }, "{}"), 415, "protocol_error"],
      ["9 KB", await post({ ...form, origin: baseURL! }, `email=a%40b.co&password=${"x".repeat(9 * 1024)}`), 413, "body_too_large"],
    ] as const) {
      expect(res.status, what).toBe(status);
      expect(
        (await expectTyped(res, what)).map((e) => e.reason),
        what,
      ).toEqual([reason]);
    }
    // A form error is a redirect back with its short code, not an error answer.
    const wrong = await post({ ...form, origin: baseURL! });
    expect(wrong.status).toBe(303);
    expect(wrong.headers.get("location")).toBe("/login?error=invalid");
  });

  test("malformed %-encoding in a path answers 400 or 404, never 500, prefetch or not", async ({ baseURL }) => {
    for (const path of ["/handoff/%E0%A4%A", "/continue/%", "/api/trpc/auth.me%E0%A4%A", "/scan/%", "/%E0%A4%A"]) {
      for (const headers of [{}, { purpose: "prefetch" }, { "next-router-prefetch": "1" }] as Array<Record<string, string>>) {
        const res = await fetch(`${baseURL}${path}`, { redirect: "manual", headers });
        expect([400, 404], `${path} ${JSON.stringify(headers)}`).toContain(res.status);
        // An API client gets the API's error shape.
        if (path.startsWith("/api/")) expect((await expectTyped(res, path)).map((e) => e.reason)).toEqual(["malformed_url"]);
      }
    }
  });

  test("an /api path holding a %-escape is no way around the body limit", async ({ baseURL }) => {
    const client = new ApiClient(baseURL!);
    const body = JSON.stringify({ json: { email: "a@b.co", password: "x".repeat(300_000) } });
    const status = await statusOrClosed(client.raw("auth.logi%6E", { method: "POST", body }));
    expect([400, 413, "closed"]).toContain(status);
  });

  test("subscriptions answer another user's request id with NOT_FOUND, not INTERNAL_SERVER_ERROR", async ({ baseURL }) => {
    const { email } = await signedUp(baseURL!);
    const newDevice = new ApiClient(baseURL!, { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" });
    const pending = await newDevice.mutation<{ status: string; requestId: string }>("auth.login", { email, password: PASSWORD });
    expect(pending.data?.status).toBe("approval_required");
    const qr = await new ApiClient(baseURL!).mutation<{ id: string }>("handoff.start");
    expect(qr.status).toBe(200);

    const { client: stranger } = await signedUp(baseURL!);
    for (const [path, input] of [
      ["approvals.watch", { requestId: pending.data!.requestId }],
      ["handoff.watch", { id: qr.data!.id }],
    ] as const) {
      const first = await stranger.firstEvent(path, input);
      expect(first.event, path).toBe("serialized-error");
      expect(first.data, path).toContain('"code":"NOT_FOUND"');
      expect(errorsIn(`event: serialized-error\ndata: ${first.data}\n\n`, "text/event-stream").map((e) => e.reason)).toEqual(["request_not_found"]);
    }
  });

  test("a bad production configuration stops `next start` at once with every problem listed", async () => {
    test.setTimeout(60_000);
    const env = {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? "/tmp",
      NODE_ENV: "production",
      APP_URL: `http://localhost:${SPARE_PORT}`,
      SESSION_LIMIT: "-3",
      DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/nothing",
    } as NodeJS.ProcessEnv;
    const child = spawn("npx", ["next", "start", "-p", String(SPARE_PORT)], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve(null);
      }, 45_000);
      child.on("exit", (status) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
    expect(code, output).not.toBe(0);
    expect(code, output).not.toBeNull();
    expect(output).toContain("Handoff cannot start");
    expect(output).toContain("SMTP_URL must be set in production");
    expect(output).toContain("SESSION_SECRET must be set in production");
    expect(output).toContain("SESSION_LIMIT must be a whole number");
  });

  test("a stolen cookie minting token sessions while the owner locks out keeps none (10 trials)", async ({ baseURL }) => {
    test.setTimeout(120_000);
    let survivors = 0;
    for (let trial = 0; trial < 10; trial++) {
      const { client: owner } = await signedUp(baseURL!);
      const thief = new ApiClient(baseURL!);
      for (const [name, value] of owner.cookies) thief.cookies.set(name, value);
      const minted: Array<{ accessToken: string; refreshToken: string }> = [];
      let lockedOut = false;
      const loop = async () => {
        while (!lockedOut) {
          const res = await thief.mutation<{ accessToken: string; refreshToken: string }>("tokens.issueFromSession", { deviceName: "Chrome on macOS" });
          expect(res.status, JSON.stringify(res.error)).toBeLessThan(500);
          if (res.data) minted.push(res.data);
          if (res.status === 401 || res.status === 429) return;
        }
      };
      const loops = Promise.all([loop(), loop(), loop(), loop()]);
      await new Promise((resolve) => setTimeout(resolve, 5 + trial * 3));
      const lockout = await owner.mutation("sessions.lockout", { password: PASSWORD });
      lockedOut = true;
      expect(lockout.status).toBe(200);
      await loops;
      for (const tokens of minted) {
        const bearer = new ApiClient(baseURL!, { authorization: `Bearer ${tokens.accessToken}` });
        if ((await bearer.query("auth.me")).status === 200) survivors++;
        if ((await new ApiClient(baseURL!).mutation("tokens.refresh", { refreshToken: tokens.refreshToken })).status === 200) survivors++;
      }
      expect((await thief.query("auth.me")).status).toBe(401);
    }
    expect(survivors).toBe(0);
  });

  test("tokens.issueFromSession is rate limited per user and cleans the device name it is given", async ({ baseURL }) => {
    const { client } = await signedUp(baseURL!);
    const rtl = await client.mutation<{ sessionId: string }>("tokens.issueFromSession", { deviceName: "Admin\u202E: approve to keep acct\u0000" });
    expect(rtl.status).toBe(200);
    const listed = await client.query<Array<{ id: string; deviceName?: string; device?: { name: string } }>>("sessions.list");
    expect(JSON.stringify(listed.data)).not.toMatch(/\\u202e|\\u0000/i);
    const empty = await client.mutation("tokens.issueFromSession", { deviceName: "\u202E\u200B " });
    expect(empty.error).toMatchObject({ data: { code: "BAD_REQUEST", reason: "invalid_input" } });
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await client.mutation("tokens.issueFromSession", { deviceName: `App ${i}` }));
    // 429 is the session cap (SESSION_LIMIT 5: minted sessions count) until the hourly limit applies.
    const reasons = answers.filter((answer) => answer.status === 429).map((answer) => answer.error?.data.reason);
    expect(
      reasons.every((reason) => reason === "session_limit" || reason === "rate_limited"),
      JSON.stringify(reasons),
    ).toBe(true);
    expect(reasons.at(-1)).toBe("rate_limited");
    expect(answers.filter((answer) => answer.status === 200).length).toBeLessThanOrEqual(10);
  });

  test("lockout's password goes through the throttle: 5 wrong ones are checked, then every guess is refused until the first wait has passed", async ({
    baseURL,
  }) => {
    const { client } = await signedUp(baseURL!);
    const checked = [];
    let fifthSentAt = 0;
    for (let i = 0; i < 5; i++) {
      fifthSentAt = Date.now();
      checked.push(await client.mutation("sessions.lockout", { password: `guess ${i}` }));
    }
    expect(checked.map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    // The first wait (1 s) runs from the fifth failure, which the server recorded after fifthSentAt:
    // every guess answered before fifthSentAt + 1 s is refused unchecked, however slow the machine.
    const waitUntil = fifthSentAt + 1000;
    let refused = 0;
    for (let i = 5; i < 30; i++) {
      const answer = await client.mutation("sessions.lockout", { password: `guess ${i}` });
      if (Date.now() >= waitUntil) break;
      expect([answer.status, answer.error?.data.reason]).toEqual([429, "too_many_failures"]);
      refused++;
    }
    expect(refused).toBeGreaterThan(0);
    expect((await client.query("auth.me")).status).toBe(200);
  });

  test("30 concurrent correct sign-ins for one account are never told 'too many failed sign-ins'", async ({ baseURL }) => {
    const { email } = await signedUp(baseURL!);
    const answers = await Promise.all(Array.from({ length: 30 }, () => new ApiClient(baseURL!).mutation("auth.login", { email, password: PASSWORD })));
    for (const answer of answers) {
      expect(answer.status, JSON.stringify(answer.error)).toBeLessThan(500);
      expect(answer.error?.data.reason).not.toBe("too_many_failures");
      expect(answer.error?.message ?? "").not.toMatch(/failed sign-ins/);
    }
  });

  test("Redis dying after start-up, under load: 503 SERVICE_UNAVAILABLE, never a 500; back by itself when Redis returns", async () => {
    test.setTimeout(120_000);
    const redisPort = SPARE_REDIS_PORT;
    const appPort = SPARE_PORT + 2;
    const appURL = `http://localhost:${appPort}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "handoff-redis-"));
    const startRedis = () =>
      spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
    const children: ChildProcess[] = [];
    let redis = startRedis();
    children.push(redis);
    try {
      const redisUp = () => spawnSync("redis-cli", ["-p", String(redisPort), "ping"], { encoding: "utf8" }).stdout.trim() === "PONG";
      await expect.poll(redisUp).toBe(true);
      const database = new URL(process.env.E2E_DATABASE_URL ?? `postgresql://postgres@127.0.0.1:5432/${process.env.E2E_DATABASE_NAME ?? "handoff_e2e"}`);
      // Its own process group, so that killing it leaves no server behind.
      const app = spawn(process.execPath, [path.resolve("node_modules/next/dist/bin/next"), "start", "-p", String(appPort)], {
        detached: true,
        env: {
          ...process.env,
          NODE_ENV: "production",
          MAIL_ENABLED: "false",
          APP_URL: appURL,
          DATABASE_URL: database.toString(),
          REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
          REDIS_PREFIX: `outage-${Date.now()}:`,
          SESSION_SECRET: "e2e-session-secret-at-least-32-characters-long",
          SIGN_IN_RATE_LIMIT: "100000",
          REGISTER_RATE_LIMIT: "100000",
        } as NodeJS.ProcessEnv,
        stdio: "ignore",
      });
      children.push(app);
      await expect.poll(async () => (await fetch(`${appURL}/api/health`).catch(() => null))?.status, { timeout: 60_000 }).toBe(200);
      await renderPages(appURL);
      const { client } = await signedUp(appURL);

      const statuses = new Map<number, number>();
      const unavailableReasons = new Set<unknown>();
      let running = true;
      const load = async () => {
        while (running) {
          for (const res of [
            await client.raw("auth.me"),
            await new ApiClient(appURL).raw("auth.login", {
              method: "POST",
              body: JSON.stringify({ json: { email: newEmail("nobody"), password: "wrong password" } }),
            }),
          ]) {
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status === 503) for (const error of errorsIn(await res.text(), res.headers.get("content-type"))) unavailableReasons.add(error.reason);
            else await res.body?.cancel();
          }
        }
      };
      const loaders = Promise.all([load(), load(), load()]);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      redis.kill("SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 4000));
      const during = new Map(statuses);
      redis = startRedis();
      children.push(redis);
      // Sessions lived only in the killed Redis: recovery means new sign-ups work again.
      await expect
        .poll(async () => (await new ApiClient(appURL).mutation("auth.register", { email: newEmail("after"), password: PASSWORD })).status, { timeout: 30_000 })
        .toBe(200);
      running = false;
      await loaders;
      expect(statuses.get(500) ?? 0, JSON.stringify([...statuses])).toBe(0);
      expect(during.get(503) ?? 0, JSON.stringify([...during])).toBeGreaterThan(0);
      expect([...unavailableReasons]).toEqual(["service_unavailable"]);
    } finally {
      for (const child of children) {
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
