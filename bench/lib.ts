import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import { Worker } from "node:worker_threads";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { EventSource } from "eventsource";
import superjson from "superjson";
import type { AppRouter } from "~/server/api/root";

export const PASSWORD = "correct horse battery staple";

/** A fetch that keeps the cookies it is sent, as a browser at `base` would (also used by bench/peers). */
export function cookieFetch(base: string, userAgent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 bench") {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const fetchWithCookies: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("cookie", cookie());
    headers.set("origin", base);
    headers.set("user-agent", userAgent);
    const res = await fetch(input, { ...init, headers });
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const eq = pair!.indexOf("=");
      const value = pair!.slice(eq + 1);
      if (value) jar.set(pair!.slice(0, eq), value);
      else jar.delete(pair!.slice(0, eq));
    }
    return res;
  };
  return { fetch: fetchWithCookies, cookieHeader: cookie, jar };
}

/** A tRPC client with a cookie jar of its own: one browser. */
export function browser(base: string, userAgent?: string) {
  const { fetch: fetchWithCookies, cookieHeader: cookie, jar } = cookieFetch(base, userAgent);
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url: `${base}/api/trpc`,
          transformer: superjson,
          EventSource,
          eventSourceOptions: () => ({ fetch: (url, init) => fetchWithCookies(url, init) }),
        }),
        false: httpBatchLink({ url: `${base}/api/trpc`, transformer: superjson, fetch: fetchWithCookies }),
      }),
    ],
  });
  // The tRPC client is a proxy (every property is a procedure path): keep our own fields beside it.
  return { api: client, cookieHeader: cookie, jar };
}

export type Browser = ReturnType<typeof browser>;

/** Resolves with the time a subscription first delivers an event matching `match`. */
export function firstEvent<T>(
  subscribe: (handlers: { onData: (e: unknown) => void; onError: (e: unknown) => void }) => { unsubscribe(): void },
  match: (data: T) => boolean,
) {
  let sub: { unsubscribe(): void } | undefined;
  const at = new Promise<number>((resolve, reject) => {
    sub = subscribe({
      onData: (event) => {
        const data = ((event as { data?: T }).data ?? event) as T;
        if (match(data)) resolve(performance.now());
      },
      onError: reject,
    });
  });
  return { at, stop: () => sub?.unsubscribe() };
}

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
};

// The probe's loop, run on a thread of its own (plain CommonJS, evaluated as the worker's entry):
// the bench's load generators share the main thread, and their event-loop delays must not count
// as the server's. Each request is timed from when it was due (not when it went out), so a late
// send counts against the measurement rather than vanishing from it.
const PROBE_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const { url, headers, rate, seconds } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const latencies = [], settled = [];
let non2xx = 0, errors = 0;
const started = performance.now();
const intervalMs = 1000 / rate, total = Math.round(rate * seconds);
const inFlight = [];
const get = (due) => new Promise((resolve) => {
  const req = http.get(url, { agent, headers }, (res) => {
    res.resume();
    res.on("end", () => {
      const latency = performance.now() - due;
      if (res.statusCode >= 200 && res.statusCode < 300) {
        latencies.push(latency);
        if (due - started >= 1000) settled.push(latency);
      } else non2xx++;
      resolve();
    });
  });
  req.on("error", () => { errors++; resolve(); });
});
(async () => {
  for (let i = 0; i < total; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(get(due));
  }
  await Promise.all(inFlight);
  agent.destroy();
  parentPort.postMessage({ latencies, settled, non2xx, errors, elapsedS: (performance.now() - started) / 1000 });
})();
`;

/**
 * A steady latency probe: one GET every 1/rate s on a fixed schedule (open loop: a slow answer
 * does not delay the next request, which goes out on another kept-alive socket), each timed from
 * when it was due to the end of its answer, on a thread of its own. Not autocannon's
 * `overallRate`: that lets each connection send its whole second's quota back to back as the
 * second starts and then pauses (bursts that queue behind each other), and fills its histogram
 * with coordinated-omission samples at a 1 ms interval (one 130 ms answer counts as ~130
 * samples), so its p99 measures the generator.
 */
export async function steadyProbe(opts: { url: string; headers?: Record<string, string>; rate: number; seconds: number }) {
  const worker = new Worker(PROBE_SOURCE, { eval: true, workerData: opts });
  const [result] = (await once(worker, "message")) as [{ latencies: number[]; settled: number[]; non2xx: number; errors: number; elapsedS: number }];
  await worker.terminate();
  return {
    rps: result.latencies.length / result.elapsedS,
    p50: percentile(result.latencies, 50),
    p99: percentile(result.latencies, 99),
    /** Requests due after the first second (a burst's start is its worst moment; this is what follows); NaN for shorter runs. */
    p99AfterFirstSecond: percentile(result.settled, 99),
    total: result.latencies.length,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

export interface Server {
  base: string;
  redisUrl: string;
  prefix: string;
  /** CPU time (user + system, ms) used so far by the server's processes; NaN where /proc is missing. */
  cpuMs(): number;
  /** CPU time (ms) of the server's main (event-loop) thread alone: the busiest process's first thread, without its hashing or GC threads. */
  mainThreadCpuMs(): number;
  /** Resident memory (bytes) of the server's busiest process (the Next.js server); NaN where /proc is missing. */
  rssBytes(): number;
  stop(): Promise<void>;
}

/** CPU ticks of one process (or one of its threads) from a /proc stat file. */
function statTicks(file: string): number {
  const fields = fs.readFileSync(file, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** The main thread of the group's busiest process (the Next.js server, not npx), from /proc (Linux). */
function mainThreadCpuMs(group: number): number {
  const pid = busiestProcess(group);
  return pid ? statTicks(`/proc/${pid}/task/${pid}/stat`) * 10 : NaN;
}

function rssBytes(group: number): number {
  const pid = busiestProcess(group);
  if (!pid) return NaN;
  const kib = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return kib ? Number(kib) * 1024 : NaN;
}

/** The process of the group that used the most CPU: the Next.js server, not npx. */
function busiestProcess(group: number): string | undefined {
  if (!fs.existsSync("/proc/self/stat")) return undefined;
  let busiest = { ticks: -1, pid: "" };
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = fs.readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ");
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (Number(fields[2]) === group && ticks > busiest.ticks) busiest = { ticks, pid: entry };
    } catch {
      // the process ended meanwhile
    }
  }
  return busiest.pid || undefined;
}

/** CPU time of every process in a process group, from /proc (Linux). */
export function processGroupCpuMs(group: number): number {
  if (!fs.existsSync("/proc/self/stat")) return NaN;
  let ticks = 0;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = fs.readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ");
      if (Number(fields[2]) === group) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

/** The production build on the real PostgreSQL and Redis, like .ci/run. */
export async function startServer(port: number, databaseUrl: string, env: Record<string, string>): Promise<Server> {
  if (!fs.existsSync(".next/BUILD_ID")) throw new Error("Build the app first: npm run build");
  const base = `http://localhost:${port}`;
  const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/3";
  const prefix = `handoff-bench:${Date.now()}:`;
  const child: ChildProcess = spawn("npx", ["next", "start", "-p", String(port)], {
    env: {
      ...process.env,
      NODE_ENV: "production",
      APP_URL: base,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      SESSION_SECRET: "bench-session-secret-at-least-32-characters",
      METRICS_ENABLED: "true",
      // As `npm start` runs it (package.json).
      NODE_OPTIONS: `--max-semi-space-size=64 ${process.env.NODE_OPTIONS ?? ""}`.trim(),
      MAIL_ENABLED: "false",
      ...env,
    },
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) {
        return {
          base,
          redisUrl,
          prefix,
          cpuMs: () => processGroupCpuMs(child.pid!),
          mainThreadCpuMs: () => mainThreadCpuMs(child.pid!),
          rssBytes: () => rssBytes(child.pid!),
          async stop() {
            process.kill(-child.pid!, "SIGTERM");
            await once(child, "exit").catch(() => undefined);
          },
        };
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  process.kill(-child.pid!, "SIGTERM");
  throw new Error("the server did not start");
}
