import { spawn } from "node:child_process";
import fc from "fast-check";
import { expect, test } from "@playwright/test";
import { ALLOWED_ERRORS, ENDS_OWN_SESSION, HANDCRAFTED_INPUTS, MALFORMED_BODIES, PROCEDURES } from "../src/test/fuzz-cases";
import { classicURL } from "../playwright.config";
import { ApiClient, USER_AGENT } from "./api-client";
import { newEmail, PASSWORD } from "./helpers";

// Black-box checks of the API against the production build (`next start`, real PostgreSQL and
// Redis), after pages have rendered: Next.js compiles pages and route handlers into separate
// bundles, and errors that crossed between them used to answer 500. Nothing here imports server code.

const WELL_FORMED_TOKEN = "A".repeat(43);
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

/** Any status under 500, and for an error one of the typed codes. */
async function expectTyped(res: Response, what: string) {
  const text = await res.text();
  expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400 && res.headers.get("content-type")?.includes("json")) {
    const body = JSON.parse(text) as { error?: { json?: { data?: { code?: string } } } } | Array<{ error?: { json?: { data?: { code?: string } } } }>;
    for (const item of Array.isArray(body) ? body : [body]) {
      if (item.error) expect(ALLOWED_ERRORS.has(item.error.json?.data?.code ?? ""), `${what}: ${text.slice(0, 300)}`).toBe(true);
    }
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
      }
      for (const path of ["approvals.confirm", "approvals.deny", "approvals.complete"]) {
        const res = await client.mutation(path, { requestId: UNKNOWN_ID, code: "123456" });
        expect(res.status, `${path}: ${JSON.stringify(res.error)}`).toBeLessThan(500);
        expect(res.status).toBeGreaterThanOrEqual(400);
      }
    }
    const claim = await anonymous.mutation("handoff.claim", { token: WELL_FORMED_TOKEN });
    expect(claim).toMatchObject({ status: 400, error: { message: "This QR code is no longer valid", data: { code: "BAD_REQUEST" } } });
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
    expect(third.error).toMatchObject({ data: { code: "TOO_MANY_REQUESTS" } });
    expect(third.error!.message).toMatch(/Already 2 sessions active/);
  });

  test("every procedure fed garbage, signed in and out: never a 500", async ({ baseURL }) => {
    test.setTimeout(180_000);
    const anonymous = new ApiClient(baseURL!);
    const { client: signedIn } = await signedUp(baseURL!);
    const send = async (client: ApiClient, path: string, type: string, input: unknown) => {
      const body = JSON.stringify({ json: input });
      if (type === "mutation") return expectTyped(await client.raw(path, { method: "POST", body }), `${path} ${body.slice(0, 80)}`);
      const abort = new AbortController();
      const res = await client.raw(path, { query: `input=${encodeURIComponent(body)}`, signal: abort.signal });
      if (res.headers.get("content-type")?.includes("text/event-stream")) {
        expect(res.status).toBe(200);
        abort.abort();
        return;
      }
      await expectTyped(res, `${path} ${body.slice(0, 80)}`);
    };
    for (const [path, type] of PROCEDURES) {
      for (const input of HANDCRAFTED_INPUTS) await send(anonymous, path, type, input);
      if (!ENDS_OWN_SESSION.has(path)) for (const input of HANDCRAFTED_INPUTS) await send(signedIn, path, type, input);
      await fc.assert(
        fc.asyncProperty(fc.anything({ maxDepth: 3 }), (input) => send(anonymous, path, type, input)),
        { numRuns: 10 },
      );
      for (const body of MALFORMED_BODIES) await expectTyped(await anonymous.raw(path, { method: "POST", body }), `${path} body ${body.slice(0, 60)}`);
      await expectTyped(await anonymous.raw(path, { method: type === "mutation" ? "GET" : "POST", ...(type === "mutation" ? {} : { body: "{}" }) }), `${path} wrong method`);
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
    }
  });

  test("request bodies over 64 KB are refused with 413; batches over 10 calls with 400", async ({ baseURL }) => {
    const client = new ApiClient(baseURL!);
    const big = await client.raw("auth.login", { method: "POST", body: JSON.stringify({ json: { email: "a@b.co", password: "x".repeat(300_000) } }) });
    expect(big.status).toBe(413);
    let chunks = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++chunks > 40) return controller.close();
        controller.enqueue(new Uint8Array(8192).fill(0x61));
      },
    });
    const chunked = await client.raw("auth.login", { method: "POST", body: stream });
    expect(chunked.status).toBe(413);
    const batch = (n: number) => client.raw(Array(n).fill("auth.me").join(","), { query: "batch=1&input=%7B%7D" });
    expect((await batch(10)).status).toBe(401);
    expect((await batch(11)).status).toBe(400);
  });

  test("malformed %-encoding in a path answers 400 or 404, never 500", async ({ baseURL }) => {
    for (const path of ["/handoff/%E0%A4%A", "/continue/%", "/api/trpc/auth.me%E0%A4%A", "/scan/%", "/%E0%A4%A"]) {
      const res = await fetch(`${baseURL}${path}`, { redirect: "manual" });
      expect([400, 404], path).toContain(res.status);
    }
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
    }
  });

  test("a bad production configuration stops `next start` at once with every problem listed", async () => {
    test.setTimeout(60_000);
    const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp", NODE_ENV: "production", APP_URL: "http://localhost:3190", SESSION_LIMIT: "-3", DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/nothing" } as NodeJS.ProcessEnv;
    const child = spawn("npx", ["next", "start", "-p", "3190"], { env, stdio: ["ignore", "pipe", "pipe"] });
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
});
