import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIREFOX_LINUX, PASSWORD } from "~/test/fixtures";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import { LIVE_STREAM_PING_MS, LIVE_STREAM_RECONNECT_MS } from "~/server/policy";
import { OpenStreams } from "./open-streams";

describe("OpenStreams", () => {
  it("refuses a session's or an address's stream over its limit, and gives the slot back once", () => {
    const streams = new OpenStreams({ perSession: 2, perAddress: 3 });
    const a1 = streams.open({ sessionId: "a", ip: "198.51.100.1" });
    streams.open({ sessionId: "a", ip: "198.51.100.1" });
    expect(() => streams.open({ sessionId: "a", ip: "198.51.100.2" })).toThrow(
      expect.objectContaining({ code: "TOO_MANY_REQUESTS", reason: "too_many_streams" }),
    );
    // A refused stream took nothing.
    expect(streams.count({ sessionId: "a" })).toBe(2);
    expect(streams.count({ ip: "198.51.100.2" })).toBe(0);

    // The address's third slot, then none for anyone (signed in or not) from it.
    streams.open({ sessionId: "b", ip: "198.51.100.1" });
    expect(() => streams.open({ sessionId: "c", ip: "198.51.100.1" })).toThrow(/network address already has 3/);
    expect(() => streams.open({ ip: "198.51.100.1" })).toThrow(/network address/);

    a1();
    a1(); // twice gives back one slot, not two
    expect(streams.count({ sessionId: "a" })).toBe(1);
    expect(streams.count({ ip: "198.51.100.1" })).toBe(2);
    streams.open({ ip: "198.51.100.1" });
    expect(() => streams.open({ sessionId: "a", ip: "198.51.100.1" })).toThrow(/network address/);
  });

  it("counts an IPv6 client by its /64 (one subscriber's block), an IPv4 client by its address", () => {
    const streams = new OpenStreams({ perSession: 10, perAddress: 2 });
    streams.open({ ip: "2001:db8:1:2::1" });
    streams.open({ ip: "2001:db8:1:2:ffff:0:0:9" });
    expect(() => streams.open({ ip: "2001:0db8:0001:0002:abcd::" })).toThrow(/network address/);
    expect(streams.count({ ip: "2001:db8:1:2::42" })).toBe(2);
    streams.open({ ip: "2001:db8:1:3::1" }); // the next /64
    streams.open({ ip: "198.51.100.1" });
    streams.open({ ip: "198.51.100.2" }); // IPv4 neighbours are separate clients
    expect(streams.count({ ip: "198.51.100.1" })).toBe(1);
  });
});

/**
 * The stream's first event after `connected`, or "open" when none comes within `quietMs` (the
 * stream is running; it is then read on to its end, as a browser would, so the server is never
 * held up writing to it).
 */
async function firstEventOrOpen(res: Response, quietMs: number): Promise<{ event: string; data?: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const quiet = new Promise<"quiet">((resolve) => setTimeout(() => resolve("quiet"), quietMs));
  for (;;) {
    const reading = reader.read();
    const read = await Promise.race([reading, quiet]);
    if (read === "quiet") {
      void reading
        .then(async function drain(r): Promise<void> {
          if (!r.done) return drain(await reader.read());
        })
        .catch(() => undefined);
      return { event: "open" };
    }
    if (read.done) return { event: "ended" };
    text += decoder.decode(read.value, { stream: true });
    for (const block of text.split("\n\n").slice(0, -1)) {
      const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]));
      if (fields.data !== undefined && fields.event !== "connected") return { event: fields.event ?? "message", data: JSON.parse(fields.data) };
    }
  }
}

describe("open live streams per session and address (through /api/trpc, real Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const aborts: AbortController[] = [];

  beforeAll(async () => {
    t = await createTestServices({ LIVE_STREAMS_PER_SESSION: "3", LIVE_STREAMS_PER_IP: "5", NEW_DEVICE_APPROVAL: "true" });
  });
  afterAll(async () => {
    for (const abort of aborts) abort.abort();
    await t.close();
  });

  async function signedIn(ip: string) {
    const b = new TestBrowser(t.services, { ip });
    await b.mutation("auth.register", { email: uniqueEmail(), password: PASSWORD });
    const me = await b.query<{ session: { id: string } }>("auth.me");
    return { b, sessionId: me.data!.session.id };
  }

  function open(b: TestBrowser, path = "sessions.onEvent", input: unknown = {}) {
    const abort = new AbortController();
    aborts.push(abort);
    const response = b.raw(path, { method: "GET", query: `input=${encodeURIComponent(JSON.stringify({ json: input }))}`, signal: abort.signal });
    return { abort, first: response.then((res) => firstEventOrOpen(res, 400)) };
  }

  const until = async (check: () => boolean) => {
    for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(check()).toBe(true);
  };

  it("50 concurrent opens by one session: exactly its limit run, the rest get too_many_streams; a closed stream frees its slot", async () => {
    const { b, sessionId } = await signedIn("198.51.100.10");
    const attempts = Array.from({ length: 50 }, () => open(b));
    const firsts = await Promise.all(attempts.map((a) => a.first));
    const refused = firsts.filter((f) => f.event === "serialized-error");
    expect(firsts.filter((f) => f.event === "open")).toHaveLength(3);
    expect(refused).toHaveLength(47);
    expect(refused[0]!.data).toMatchObject({ json: { data: { code: "TOO_MANY_REQUESTS", reason: "too_many_streams" } } });
    expect(t.services.openStreams.count({ sessionId })).toBe(3);

    // The client going away ends its stream and gives the slot back.
    attempts[firsts.findIndex((f) => f.event === "open")]!.abort.abort();
    await until(() => t.services.openStreams.count({ sessionId }) === 2);
    expect((await open(b).first).event).toBe("open");
    expect((await open(b).first).event).toBe("serialized-error");

    for (const a of attempts) a.abort.abort();
    await until(() => t.services.openStreams.count({ sessionId }) === 1);
  });

  it("one address holds at most its limit across sessions and signed-out waiting pages; another address is not affected", async () => {
    const ip = "198.51.100.20";
    const first = await signedIn(ip);
    const second = await signedIn(ip);
    const opened = [open(first.b), open(first.b), open(first.b), open(second.b), open(second.b)];
    expect((await Promise.all(opened.map((o) => o.first))).map((f) => f.event)).toEqual(["open", "open", "open", "open", "open"]);
    // A sixth from the address: refused, whether signed in or a page waiting on a QR code.
    expect((await open(second.b).first).data).toMatchObject({ json: { data: { reason: "too_many_streams" } } });
    const anonymous = new TestBrowser(t.services, { ip });
    expect((await open(anonymous, "handoff.watch", { id: "A".repeat(22) }).first).data).toMatchObject({ json: { data: { reason: "too_many_streams" } } });

    const elsewhere = await signedIn("198.51.100.21");
    expect((await open(elsewhere.b).first).event).toBe("open");

    for (const o of opened) o.abort.abort();
    await until(() => t.services.openStreams.count({ ip }) === 0);
  });

  it("a stream that fails (someone else's or an unknown approval) or ends at once (an unknown QR request reads as expired) gives its slot back", async () => {
    const owner = await signedIn("198.51.100.41");
    const email = (await owner.b.query<{ user: { email: string } }>("auth.me")).data!.user.email;
    const newDevice = new TestBrowser(t.services, { ip: "198.51.100.42", userAgent: FIREFOX_LINUX });
    const { requestId } = (await newDevice.mutation<{ requestId: string }>("auth.login", { email, password: PASSWORD })).data!;
    const ip = "198.51.100.40";
    const anonymous = new TestBrowser(t.services, { ip });
    // More of each than the address's limit (5): every one was given back before the next.
    for (let i = 0; i < 8; i++) {
      const failed = await open(anonymous, "approvals.watch", { requestId }).first;
      expect(failed).toMatchObject({ event: "serialized-error", data: { json: { data: { code: "NOT_FOUND" } } } });
      const ended = await open(anonymous, "handoff.watch", { id: `unknown-request-${i}-xxxxxx` }).first;
      expect(ended.data).toMatchObject({ json: { status: "expired" } });
      await until(() => t.services.openStreams.count({ ip }) === 0);
    }
  });

  it("the stream tells the client to reconnect after a minute without a byte; the server pings well within it", async () => {
    const { b } = await signedIn("198.51.100.50");
    const abort = new AbortController();
    aborts.push(abort);
    const res = await b.raw("sessions.onEvent", { method: "GET", query: `input=${encodeURIComponent(JSON.stringify({ json: {} }))}`, signal: abort.signal });
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("\n\n")) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    expect(text).toContain("event: connected");
    expect(text).toContain(`"reconnectAfterInactivityMs":${LIVE_STREAM_RECONNECT_MS}`);
    expect(LIVE_STREAM_PING_MS * 2).toBeLessThan(LIVE_STREAM_RECONNECT_MS);
  });

  it("a stream that ends on its own (its session revoked) gives its slot back", async () => {
    const { b, sessionId } = await signedIn("198.51.100.30");
    const stream = open(b);
    expect((await stream.first).event).toBe("open");
    expect(t.services.openStreams.count({ sessionId })).toBe(1);
    await b.mutation("auth.logout");
    await until(() => t.services.openStreams.count({ sessionId }) === 0);
  });
});
