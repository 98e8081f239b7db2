/**
 * QR handoff latency: from the phone's "approve" to the waiting device's subscription seeing it
 * and `handoff.complete` returning its new session, through the production server over HTTP
 * and SSE, exactly as browsers do it. Prints p50/p95/max for both QR flows and the Redis cost of
 * the watch poll.
 *
 *   npm run build && npm run bench:handoff        (RUNS=50 HANDOFF_POLL_MS=250 by default)
 *
 * Starts `next start` on BENCH_PORT against the real PostgreSQL (database handoff_bench) and
 * Redis (db 3), like .ci/run, so it needs the same services (`bash .ci/services.sh`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { EventSource } from "eventsource";
import superjson from "superjson";
import type { AppRouter } from "~/server/api/root";
import { resetDatabase } from "~/test/database";

const PORT = Number(process.env.BENCH_PORT ?? 3200);
const BASE = `http://localhost:${PORT}`;
const RUNS = Number(process.env.RUNS ?? 50);
const POLL_MS = Number(process.env.HANDOFF_POLL_MS ?? 250);

/** A client with its own cookie jar, as one browser. */
function browser() {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const remember = (res: Response) => {
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const eq = pair!.indexOf("=");
      const value = pair!.slice(eq + 1);
      if (value) jar.set(pair!.slice(0, eq), value);
      else jar.delete(pair!.slice(0, eq));
    }
  };
  const fetchWithCookies: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("cookie", cookie());
    headers.set("origin", BASE);
    const res = await fetch(input, { ...init, headers });
    remember(res);
    return res;
  };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url: `${BASE}/api/trpc`,
          transformer: superjson,
          EventSource,
          eventSourceOptions: () => ({ fetch: (url, init) => fetchWithCookies(url, init) }),
        }),
        false: httpBatchLink({ url: `${BASE}/api/trpc`, transformer: superjson, fetch: fetchWithCookies }),
      }),
    ],
  });
}

type Client = ReturnType<typeof browser>;

/** Resolves when the watch subscription reports `status`. */
function waitFor(client: Client, id: string, status: string) {
  let stop = () => undefined as void;
  const seen = new Promise<number>((resolve, reject) => {
    const sub = client.handoff.watch.subscribe(
      { id },
      {
        onData: (event) => {
          const state = (event as { data?: { status: string } }).data ?? (event as { status: string });
          if (state.status === status) resolve(performance.now());
        },
        onError: reject,
      },
    );
    stop = () => sub.unsubscribe();
  });
  return { seen, stop: () => stop() };
}

async function flowA(phone: Client) {
  const desk = browser();
  const started = await desk.handoff.start.mutate();
  const token = started.qrUrl.split("/").pop()!;
  const approved = waitFor(desk, started.id, "approved");
  await phone.handoff.inspect.mutate({ token });
  await new Promise((r) => setTimeout(r, Math.random() * POLL_MS)); // approve at a random point of the poll cycle
  const t0 = performance.now();
  await phone.handoff.approve.mutate({ token });
  const seenAt = await approved.seen;
  await desk.handoff.complete.mutate({ id: started.id });
  const t1 = performance.now();
  approved.stop();
  return { seen: seenAt - t0, complete: t1 - t0 };
}

async function flowB(laptop: Client) {
  const tablet = browser();
  const offer = await laptop.handoff.offer.mutate();
  const token = offer.qrUrl.split("/").pop()!;
  await tablet.handoff.claim.mutate({ token });
  const approved = waitFor(tablet, offer.id, "approved");
  await new Promise((r) => setTimeout(r, Math.random() * POLL_MS));
  const t0 = performance.now();
  await laptop.handoff.approve.mutate({ token });
  const seenAt = await approved.seen;
  await tablet.handoff.complete.mutate({ id: offer.id });
  const t1 = performance.now();
  approved.stop();
  return { seen: seenAt - t0, complete: t1 - t0 };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const ms = (v: number) => `${v.toFixed(0)} ms`;

async function startServer(): Promise<ChildProcess> {
  if (!fs.existsSync(".next/BUILD_ID")) throw new Error("Build the app first: npm run build");
  const databaseUrl = await resetDatabase(process.env.BENCH_DATABASE_NAME ?? "handoff_bench");
  const server = spawn("npx", ["next", "start", "-p", String(PORT)], {
    env: {
      ...process.env,
      NODE_ENV: "production",
      APP_URL: BASE,
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/3",
      REDIS_PREFIX: `handoff-bench:${Date.now()}:`,
      SESSION_SECRET: "bench-session-secret-at-least-32-characters",
      HANDOFF_POLL_MS: String(POLL_MS),
      // The bench itself makes many codes from one address; the limit is not what it measures.
      HANDOFF_RATE_LIMIT: "10000",
      SESSION_LIMIT: "0",
    },
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${BASE}/api/health`)).ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("the server did not start");
}

async function main() {
  const server = await startServer();
  try {
    const owner = browser();
    await owner.auth.register.mutate({ email: `bench-${Date.now()}@example.com`, password: "correct horse battery staple" });
    const rows: string[] = [];
    for (const [name, flow] of [
      ["A: new device shows the QR, phone approves", flowA],
      ["B: signed-in device offers, other device claims", flowB],
    ] as const) {
      await flow(owner); // warm-up
      const seen: number[] = [];
      const complete: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const r = await flow(owner);
        seen.push(r.seen);
        complete.push(r.complete);
      }
      rows.push(
        `| ${name} | ${RUNS} | ${ms(percentile(seen, 50))} | ${ms(percentile(seen, 95))} | ${ms(percentile(complete, 50))} | ${ms(percentile(complete, 95))} | ${ms(Math.max(...complete))} |`,
      );
    }
    console.log(`\nQR handoff latency, approve -> waiting device signed in (HANDOFF_POLL_MS=${POLL_MS}, ${new Date().toISOString()})\n`);
    console.log("| flow | runs | seen p50 | seen p95 | complete p50 | complete p95 | complete max |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const row of rows) console.log(row);
    console.log(`\nRedis cost of waiting: one EVALSHA per waiting device every ${POLL_MS} ms = ${Math.round(60_000 / POLL_MS)} round trips per minute.`);
  } finally {
    process.kill(-server.pid!, "SIGTERM");
    await once(server, "exit").catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
