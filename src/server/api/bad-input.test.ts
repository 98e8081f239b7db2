import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { ALLOWED_ERRORS, ENDS_OWN_SESSION, HANDCRAFTED_INPUTS, MALFORMED_BODIES, PROCEDURES } from "~/test/fuzz-cases";
import { appRouter } from "./root";

// Every procedure, fed garbage: never a 500, always a typed tRPC error (or a normal answer).
// The same cases run against the production server in e2e/production-api.spec.ts.
const procedures = PROCEDURES;

describe("bad input never produces a 500", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  let signedIn: TestBrowser;

  beforeAll(async () => {
    t = await createTestServices();
    signedIn = new TestBrowser(t.services);
    await signedIn.mutation("auth.register", { email: uniqueEmail(), password: "correct horse battery staple" });
  });
  afterAll(() => t.close());

  const check = (status: number, body: { error?: { json?: { data?: { code?: string } } } } | null) => {
    expect(status, JSON.stringify(body)).toBeLessThan(500);
    if (status >= 400) expect(ALLOWED_ERRORS.has(body?.error?.json?.data?.code ?? ""), JSON.stringify(body)).toBe(true);
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
      if (res.headers.get("content-type")?.includes("text/event-stream")) {
        // A subscription that accepted its input streams until it is closed: that is a success.
        expect(res.status).toBe(200);
        abort.abort();
        await res.body?.cancel().catch(() => undefined);
        return;
      }
      check(res.status, (await res.json().catch(() => null)) as never);
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
    for (const body of MALFORMED_BODIES) {
      const res = await client.raw(path, { method: "POST", body });
      check(res.status, (await res.json().catch(() => null)) as never);
    }
    const wrong = await client.raw(path, { method: type === "mutation" ? "GET" : "POST", body: type === "mutation" ? undefined : "{}" });
    check(wrong.status, (await wrong.json().catch(() => null)) as never);
    const badQuery = await client.raw(path, { method: "GET", query: "input=%7B%7B%7B" });
    check(badQuery.status, (await badQuery.json().catch(() => null)) as never);
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
