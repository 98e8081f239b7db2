import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIREFOX_LINUX, PASSWORD } from "~/test/fixtures";
import { APP_URL, createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { MAX_BATCH_SIZE, MAX_BODY_BYTES } from "~/server/policy";
import { handleTrpcRequest } from "./http-handler";

/** The first server-sent event of a subscription answer: its event name and parsed data. */
async function firstEvent(res: Response): Promise<{ event: string; data: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before an event: ${text}`);
      text += decoder.decode(value, { stream: true });
      for (const block of text.split("\n\n").slice(0, -1)) {
        const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]));
        if (fields.data !== undefined && fields.event !== "connected") return { event: fields.event ?? "message", data: JSON.parse(fields.data) };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

describe("the /api/trpc transport (body limit, batches, input decoding, subscription errors)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;

  beforeAll(async () => {
    t = await createTestServices({ NEW_DEVICE_APPROVAL: "true", LIVE_POLL_MS: "100", HANDOFF_POLL_MS: "50" });
  });
  afterAll(() => t.close());

  const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
    handleTrpcRequest(
      new Request(`${APP_URL}/api/trpc/${path}`, {
        method: "POST",
        body,
        headers: { origin: APP_URL, "content-type": "application/json", ...headers },
        duplex: "half",
      } as RequestInit),
      async () => t.services,
    );

  it("refuses a body over the limit with 413 before reading it, declared or chunked", async () => {
    const huge = JSON.stringify({ json: { email: "a@b.co", password: "x".repeat(MAX_BODY_BYTES) } });
    const declared = await post("auth.login", huge);
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.json.data).toMatchObject({ code: "PAYLOAD_TOO_LARGE", reason: "body_too_large" });

    // No Content-Length: the stream is cut off as soon as it passes the limit, not read to its end.
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(16 * 1024).fill(0x61));
        if (pulled > 10_000) controller.close();
      },
    });
    const chunked = await post("auth.login", endless);
    expect(chunked.status).toBe(413);
    expect(pulled).toBeLessThan(10);

    const small = await post("auth.login", JSON.stringify({ json: { email: uniqueEmail(), password: "wrong password here" } }));
    expect(small.status).toBe(401);
  });

  it(`caps a batch at ${MAX_BATCH_SIZE} calls`, async () => {
    const b = new TestBrowser(t.services);
    const batch = (n: number) => b.raw(`${Array(n).fill("auth.me").join(",")}`, { method: "GET", query: "batch=1&input=%7B%7D" });
    expect((await batch(MAX_BATCH_SIZE)).status).toBe(401);
    const over = await batch(MAX_BATCH_SIZE + 1);
    expect(over.status).toBe(400);
    expect((await over.json()).error.json.data).toEqual({ code: "BAD_REQUEST", httpStatus: 400, reason: "batch_too_large" });
  });

  it("refuses superjson annotations our inputs never carry, with a fixed message and without recursing", async () => {
    for (const meta of [
      { values: { email: "notarray" } },
      { values: { email: ["bigint"] } },
      { values: ["class", "X"] },
      { values: { email: ["custom", "x"] } },
      { referentialEqualities: { a: ["b"] } },
      "x",
    ]) {
      const res = await post("auth.login", JSON.stringify({ json: { email: "a@b.co", password: "x" }, meta }));
      const body = await res.json();
      expect(res.status, JSON.stringify(meta)).toBe(400);
      expect(body.error.json.message).toBe("The request's input is malformed.");
      expect(body.error.json.data.reason).toBe("malformed_input");
      expect(JSON.stringify(body)).not.toMatch(/BigInt|call stack|a@b\.co/);
    }
    // What the app's own client sends still works: undefined fields and dates.
    const ok = await post(
      "auth.login",
      JSON.stringify({ json: { email: uniqueEmail(), password: "wrong password here", extra: null }, meta: { values: { extra: ["undefined"] }, v: 1 } }),
    );
    expect(ok.status).toBe(401);
  });

  it("a subscription's typed error streams as that error (NOT_FOUND), not INTERNAL_SERVER_ERROR", async () => {
    const email = uniqueEmail();
    const owner = new TestBrowser(t.services);
    await owner.mutation("auth.register", { email, password: PASSWORD });
    const newDevice = new TestBrowser(t.services, { userAgent: FIREFOX_LINUX });
    const login = await newDevice.mutation<{ status: string; requestId: string }>("auth.login", { email, password: PASSWORD });
    expect(login.data?.status).toBe("approval_required");

    const stranger = new TestBrowser(t.services);
    await stranger.mutation("auth.register", { email: uniqueEmail(), password: PASSWORD });
    const abort = new AbortController();
    const res = await stranger.raw("approvals.watch", {
      method: "GET",
      query: `input=${encodeURIComponent(JSON.stringify({ json: { requestId: login.data!.requestId } }))}`,
      signal: abort.signal,
    });
    const first = await firstEvent(res);
    abort.abort();
    expect(first.event).toBe("serialized-error");
    expect(JSON.stringify(first.data)).toContain('"code":"NOT_FOUND"');
    expect(JSON.stringify(first.data)).not.toContain("INTERNAL_SERVER_ERROR");
  });

  it("a long-lived subscription adds no abort listener per poll (no MaxListenersExceededWarning)", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const b = new TestBrowser(t.services);
      await b.mutation("auth.register", { email: uniqueEmail(), password: PASSWORD });
      const abort = new AbortController();
      const res = await b.raw("sessions.onEvent", { method: "GET", query: `input=${encodeURIComponent(JSON.stringify({ json: {} }))}`, signal: abort.signal });
      expect(res.status).toBe(200);
      // ~25 polls at LIVE_POLL_MS=100: a listener left per poll passes Node's limit of 10.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      abort.abort();
      await res.body?.cancel().catch(() => undefined);
      expect(warnings.map((w) => w.name)).not.toContain("MaxListenersExceededWarning");
    } finally {
      process.off("warning", onWarning);
    }
  });
});
