import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_REASONS } from "~/server/platform/errors";
import { errorsIn, firstEventsOf } from "~/test/error-reasons";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { ALLOWED_ERRORS, ENDS_OWN_SESSION, HANDCRAFTED_INPUTS, MALFORMED_BODIES, PROCEDURES, TRANSPORT_CASES } from "~/test/fuzz-cases";
import { appRouter } from "./root";

// Every procedure, fed garbage: never a 500, always a typed tRPC error with a data.reason from the
// catalogue (or a normal answer). The same cases run against the production server in
// e2e/production-api.spec.ts.
const procedures = PROCEDURES;
const REASONS = new Set(Object.keys(ERROR_REASONS));
/** How long an accepted subscription is read for an error before it counts as streaming. */
const STREAM_GRACE_MS = 100;

describe("bad input never produces a 500", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  let signedIn: TestBrowser;

  beforeAll(async () => {
    t = await createTestServices();
    signedIn = new TestBrowser(t.services);
    await signedIn.mutation("auth.register", { email: uniqueEmail(), password: "correct horse battery staple" });
  });
  afterAll(() => t.close());

  /** Under 500; every error in the answer (one, a batch's, a stream's) has an allowed code and a catalogued reason. */
  const check = async (res: Response) => {
    const streaming = res.headers.get("content-type")?.includes("text/event-stream");
    const text = streaming ? await firstEventsOf(res, STREAM_GRACE_MS) : await res.text();
    expect(res.status, text.slice(0, 300)).toBeLessThan(500);
    const errors = errorsIn(text, res.headers.get("content-type"));
    if (res.status >= 400) expect(errors.length, text.slice(0, 300)).toBeGreaterThan(0);
    for (const error of errors) {
      expect(ALLOWED_ERRORS.has(error.code ?? ""), text.slice(0, 300)).toBe(true);
      expect(REASONS.has(error.reason as string), `reason ${String(error.reason)}: ${text.slice(0, 300)}`).toBe(true);
    }
    return errors.length;
  };

  it.each(procedures)("%s (%s): handcrafted and random inputs, signed in and out", async (path, type) => {
    const anonymous = new TestBrowser(t.services);
    const send = async (client: TestBrowser, input: unknown) => {
      const body = JSON.stringify({ json: input });
      const abort = new AbortController();
      const res =
        type === "mutation"
          ? await client.raw(path, { method: "POST", body })
          : await client.raw(path, { method: "GET", query: `input=${encodeURIComponent(body)}`, signal: abort.signal });
      // A subscription answers 200 and streams: its error, if any, is its first event; one that
      // accepted its input streams until it is closed, which is a success.
      await check(res);
      abort.abort();
    };
    for (const input of HANDCRAFTED_INPUTS) {
      await send(anonymous, input);
    }
    await fc.assert(
      fc.asyncProperty(fc.anything({ maxDepth: 3, withNullPrototype: true }), async (input) => {
        await send(anonymous, input);
      }),
      { numRuns: 40 },
    );
    // Signed-in calls, except the ones that would end or replace the test session.
    if (!ENDS_OWN_SESSION.has(path)) {
      for (const input of HANDCRAFTED_INPUTS) await send(signedIn, input);
    }
  });

  it.each(procedures)("%s: malformed HTTP bodies and wrong methods", async (path, type) => {
    const client = new TestBrowser(t.services);
    for (const body of MALFORMED_BODIES) await check(await client.raw(path, { method: "POST", body }));
    const wrong = await client.raw(path, { method: type === "mutation" ? "GET" : "POST", body: type === "mutation" ? undefined : "{}" });
    expect(await check(wrong)).toBeGreaterThan(0);
    const abort = new AbortController();
    await check(await client.raw(path, { method: "GET", query: "input=%7B%7B%7B", signal: abort.signal }));
    abort.abort();
    expect(await check(await client.raw(`${path}%E0%A4%A`, { method: "GET" }))).toBe(1);
  });

  it.each(TRANSPORT_CASES.map((c) => [c.name, c] as const))("%s: exactly its status and data.reason", async (_name, c) => {
    const res = await new TestBrowser(t.services).raw(c.path, { method: c.method, query: c.query, body: c.body, headers: c.headers });
    const errors = errorsIn(await res.text(), res.headers.get("content-type"));
    expect(res.status).toBe(c.status);
    expect(errors.map((e) => e.reason)).toEqual(Array(errors.length).fill(c.reason));
    expect(errors.length).toBeGreaterThan(0);
  });

  it("the shared procedure list is the router's", () => {
    const routed = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>).map(([path, p]) => [path, p._def.type]);
    expect([...PROCEDURES].map((p) => [...p]).sort()).toEqual(routed.sort());
  });

  it("unknown procedures are NOT_FOUND", async () => {
    const res = await new TestBrowser(t.services).raw("auth.nope", { method: "GET" });
    expect(res.status).toBe(404);
  });
});
