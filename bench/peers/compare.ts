/**
 * Issue 19, goal 4: better-auth side by side with Handoff, in the same run, on the same machine,
 * PostgreSQL and Redis. The peer is the Next.js app in bench/peers/better-auth (same `next` as
 * ours, better-auth mounted in a route handler, Kysely on a `pg` Pool, Redis as secondary storage),
 * built here with `next build` when its sources changed and served by `next start`.
 *
 * bench/run.ts calls betterAuthPeers() as its section `peers` (`npm run bench -- --only=peers`).
 * The smoke run skips it: building a second Next.js app would add a minute to every test run.
 */
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as argon2 from "@node-rs/argon2";
import autocannon from "autocannon";
import { verifyPassword as scryptVerify, hashPassword as scryptHash } from "better-auth/crypto";
import { getMigrations } from "better-auth/db/migration";
import type pg from "pg";
import { PASSWORD_HASH_OPTIONS } from "~/server/policy";
import { recreateDatabase } from "~/test/database";
import { browser, cookieFetch, PASSWORD, processGroupCpuMs, type Browser, type Server } from "../lib";
import type { cannon, Load } from "../run";
import { peerOptions } from "./better-auth/lib/options";

const APP_DIR = path.resolve("bench/peers/better-auth");
const NEXT_BIN = path.resolve("node_modules/next/dist/bin/next");
const SECRET = "bench-better-auth-secret-at-least-32-characters";
/** The peers' stderr. */
const LOG = path.resolve("bench/results/better-auth-peer.log");
/** better-auth's cookie cache maxAge when none is configured (5 minutes; its docs and cookies/index.mjs). */
const DEFAULT_COOKIE_CACHE_MAX_AGE_S = 300;

type Setup = NonNullable<Parameters<typeof cannon>[0]["setupRequest"]>;

/** What bench/run.ts hands over: its settings, its load generator and report helpers, our server. */
export interface PeerContext {
  server: Server;
  port: number;
  smoke: boolean;
  seconds: number;
  connections: number;
  runs: number;
  results: Record<string, unknown>;
  say: (line?: string) => void;
  ms: (v: number) => string;
  us: (v: number | undefined) => string;
  ratio: (a: number, b: number) => string;
  email: (label: string) => string;
  cannon: typeof cannon;
  userWithSessions: (base: string, sessions: number, devices: number) => Promise<Browser>;
}

interface Peer {
  base: string;
  cpuMs(): number;
  stop(): Promise<void>;
}

/** A load phase on the peer, with the peer's CPU per request (run.ts's `cannon` measures ours). */
async function onPeer(peer: Peer, run: () => Promise<Load>): Promise<Load> {
  const before = peer.cpuMs();
  const load = await run();
  const cpuUs = ((peer.cpuMs() - before) * 1000) / Math.max(1, load.total);
  return { ...load, ...(Number.isFinite(cpuUs) ? { cpuUs } : {}) };
}

/**
 * Each phase twice, in order and then in reverse (ABBA), averaged: a drift in the shared machine's
 * load during the section then favours neither app.
 */
async function abba<K extends string>(phases: Record<K, () => Promise<Load>>): Promise<Record<K, Load>> {
  const names = Object.keys(phases) as K[];
  const runs = new Map<K, Load[]>();
  for (const name of [...names, ...[...names].reverse()]) runs.set(name, [...(runs.get(name) ?? []), await phases[name]()]);
  const mean = (loads: Load[], f: (l: Load) => number) => loads.reduce((sum, l) => sum + f(l), 0) / loads.length;
  const total = (loads: Load[], f: (l: Load) => number) => loads.reduce((sum, l) => sum + f(l), 0);
  return Object.fromEntries(
    [...runs].map(([name, loads]) => [
      name,
      {
        rps: mean(loads, (l) => l.rps),
        p50: mean(loads, (l) => l.p50),
        p99: mean(loads, (l) => l.p99),
        cpuUs: mean(loads, (l) => l.cpuUs ?? NaN),
        total: total(loads, (l) => l.total),
        non2xx: total(loads, (l) => l.non2xx),
        errors: total(loads, (l) => l.errors),
      },
    ]),
  ) as Record<K, Load>;
}

/** One browser of the peer: better-auth's REST API under /api/auth with a cookie jar. */
function peerBrowser(base: string) {
  const { fetch: fetchWithCookies, cookieHeader, jar } = cookieFetch(base);
  async function call<T>(route: string, body?: unknown, ip?: string): Promise<T> {
    const res = await fetchWithCookies(`${base}/api/auth${route}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json", ...(ip && { "x-forwarded-for": ip }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`better-auth ${route}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
  return {
    cookieHeader,
    jar,
    signUp: (email: string) => call<{ token: string }>("/sign-up/email", { email, password: PASSWORD, name: "Bench" }),
    signIn: (email: string) => call<{ token: string }>("/sign-in/email", { email, password: PASSWORD }),
    session: () => call<{ session: { id: string } } | null>("/get-session"),
    list: () => call<{ id: string; token: string }[]>("/list-sessions"),
    revoke: (token: string) => call<{ status: boolean }>("/revoke-session", { token }),
  };
}

/** `next build` of the peer when it has no build or a source file is newer than it. */
function ensureBuilt(env: Record<string, string>) {
  const buildId = path.join(APP_DIR, ".next/BUILD_ID");
  const sources = ["next.config.mjs", "tsconfig.json", "app", "lib"].flatMap((entry) => {
    const full = path.join(APP_DIR, entry);
    return fs.statSync(full).isDirectory() ? fs.readdirSync(full, { recursive: true }).map((f) => path.join(full, String(f))) : [full];
  });
  sources.push(path.resolve("package-lock.json"));
  const builtAt = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : 0;
  if (sources.every((f) => fs.statSync(f).mtimeMs < builtAt)) return 0;
  const started = performance.now();
  execFileSync(process.execPath, [NEXT_BIN, "build", "--webpack"], {
    cwd: APP_DIR,
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return (performance.now() - started) / 1000;
}

/** better-auth's own schema for this configuration, created by its migration planner (what `auth migrate` runs). */
async function migrate(env: Record<string, string>) {
  const options = peerOptions(env);
  const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(options);
  await runMigrations();
  await (options.database as pg.Pool).end();
  return [...toBeCreated, ...toBeAdded].map((t) => t.table);
}

/** `next start` of the peer, as bench/lib.ts starts ours (same NODE_OPTIONS). */
async function startPeer(port: number, env: Record<string, string>): Promise<Peer> {
  const base = `http://localhost:${port}`;
  const child = spawn(process.execPath, [NEXT_BIN, "start", "-p", String(port)], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      NODE_OPTIONS: `--max-semi-space-size=64 ${process.env.NODE_OPTIONS ?? ""}`.trim(),
      BETTER_AUTH_URL: base,
      ...env,
    },
    // better-auth logs every connection autocannon drops at the end of a phase ("Error: aborted").
    stdio: ["ignore", "ignore", fs.openSync(LOG, "a")],
    detached: true,
  });
  const stop = async () => {
    process.kill(-child.pid!, "SIGTERM");
    await once(child, "exit").catch(() => undefined);
  };
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) return { base, cpuMs: () => processGroupCpuMs(child.pid!), stop };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  await stop();
  throw new Error(`the better-auth peer did not start (its stderr: ${LOG})`);
}

/** Verifications per second with `threads` at once in this process: a hashing ceiling. */
async function verificationsPerSecond(verify: () => Promise<unknown>, threads: number, ms: number) {
  const started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: threads }, async () => {
      while (performance.now() - started < ms) {
        await verify();
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

export async function betterAuthPeers(ctx: PeerContext) {
  const { say, server } = ctx;
  const version = (JSON.parse(fs.readFileSync("node_modules/better-auth/package.json", "utf8")) as { version: string }).version;
  say(`## 8. Peers: better-auth ${version} side by side`);
  if (ctx.smoke) {
    say("Skipped in the smoke run (it builds and starts a second Next.js app); `npm run bench -- --only=peers` runs it.");
    say();
    return;
  }
  fs.mkdirSync(path.dirname(LOG), { recursive: true });
  fs.writeFileSync(LOG, "");
  const argon2Options = JSON.stringify(PASSWORD_HASH_OPTIONS);
  const env = {
    BETTER_AUTH_SECRET: SECRET,
    DATABASE_URL: await recreateDatabase(`${process.env.BENCH_DATABASE_NAME ?? "handoff_bench"}_better_auth`),
    REDIS_URL: server.redisUrl,
    REDIS_PREFIX: `better-auth-bench:${Date.now()}:`,
  };
  const buildSeconds = ensureBuilt({ BETTER_AUTH_SECRET: SECRET, BETTER_AUTH_URL: "http://localhost" });
  const tables = await migrate(env);
  const cacheOff = await startPeer(ctx.port + 2, { ...env, BETTER_AUTH_ARGON2: argon2Options });
  let cacheOn: Peer | undefined;
  let stock: Peer | undefined;
  try {
    cacheOn = await startPeer(ctx.port + 3, { ...env, BETTER_AUTH_ARGON2: argon2Options, BETTER_AUTH_COOKIE_CACHE: "on" });
    say();
    say(
      `The peer: better-auth in a Next.js ${(JSON.parse(fs.readFileSync("node_modules/next/package.json", "utf8")) as { version: string }).version} route handler (\`toNextJsHandler\`, app/api/auth/[...all]), \`next start\` with the same NODE_OPTIONS as ours, its Kysely adapter on a \`pg\` Pool of 10 (ours: DATABASE_POOL_SIZE 10) on the same PostgreSQL, sessions in the same Redis as \`secondaryStorage\` (node-redis, one connection), its schema (${tables.join(", ")}) created by its own \`getMigrations\`${buildSeconds ? `; built in ${buildSeconds.toFixed(0)} s before this section` : ""}. Passwords: argon2id with our PASSWORD_HASH_OPTIONS through its \`emailAndPassword.password.hash/verify\` (like for like), and its default scrypt where marked. Its rate limiter is on for sign-in with a limit the bench never reaches (as ours is raised) and off for session reads (ours has none there).`,
    );
    say();
    // Started first, measured last: a revoked session read once a second until the peer with the
    // cookie cache rejects it (up to its maxAge), while the other phases run.
    const cachedWindow = revokedWindowWithCache(cacheOn);
    cachedWindow.catch(() => undefined); // awaited below; a failure is reported there, not as an unhandled rejection
    const reads = await sessionReads(ctx, cacheOff, cacheOn);
    const lists = await listFifty(ctx, cacheOff);
    const revokedAtOnce = await revokedOnNextRequest(ctx, cacheOff);
    const signIn = await signIns(ctx, cacheOff, async () => {
      await cacheOff.stop();
      stock = await startPeer(ctx.port + 2, env);
      return stock;
    });
    say("### 8d. Revocation: how long a revoked session's cookie is still accepted");
    const window = await cachedWindow;
    say(`| app | cookie cache | revoked cookie rejected on the very next request | revoked cookie still accepted for |`);
    say(`| --- | --- | --- | --- |`);
    say(`| Handoff | none (every request reads Redis) | section 5 (${ctx.runs} of ${ctx.runs} in the issue 8 runs) | 0: the next request |`);
    say(`| better-auth | off | ${revokedAtOnce} of ${ctx.runs} | 0: the next request |`);
    say(
      `| better-auth | on, default maxAge ${DEFAULT_COOKIE_CACHE_MAX_AGE_S} s | ${window.acceptedRightAfter ? "0" : "1"} of 1 | ${window.seconds.toFixed(0)} s (read once a second, cookie cache ${window.cacheAgeAtRevokeS.toFixed(1)} s old at revocation) |`,
    );
    say();
    say(
      "With the cookie cache on, get-session answers from the signed `session_data` cookie alone until it is maxAge old, so a revoked (or signed-out elsewhere) session stays accepted by every route that trusts `getSession` for up to maxAge; `getSession` with `disableCookieCache` (or `query: { disableCookieCache: true }`) is the per-call way around it.",
    );
    say();
    ctx.results.peers = { betterAuth: version, reads, lists, signIn, revocation: { revokedAtOnce, runs: ctx.runs, cachedWindow: window } };
  } finally {
    await cacheOn?.stop();
    await (stock ?? cacheOff).stop().catch(() => undefined);
  }
}

async function sessionReads(ctx: PeerContext, off: Peer, on: Peer) {
  const { say, ms, us, ratio, cannon, server } = ctx;
  say("### 8a. Session validation: better-auth `getSession` vs `auth.me`");
  const ours = browser(server.base);
  await ours.api.auth.register.mutate({ email: ctx.email("peer-me"), password: PASSWORD });
  const ourCookie = ours.cookieHeader();
  const cookies: Record<string, string> = {};
  for (const [name, peer] of [
    ["off", off],
    ["on", on],
  ] as const) {
    const b = peerBrowser(peer.base);
    await b.signUp(ctx.email(`peer-me-${name}`));
    if (!(await b.session())) throw new Error("better-auth get-session answered null for a fresh session");
    cookies[name] = b.cookieHeader();
  }
  if (!cookies.on!.includes("session_data")) throw new Error("the cookie cache peer set no session_data cookie");
  const getSession = (peer: Peer, cookie: string, extra: { seconds?: number } = {}) =>
    cannon({ url: `${peer.base}/api/auth/get-session`, headers: { cookie }, ...extra });
  // Warm-up, as section 1: cold code would flatter whichever goes second.
  for (const url of [`${server.base}/api/health`, `${off.base}/api/health`]) await cannon({ url, seconds: 3 });
  await cannon({ url: `${server.base}/api/trpc/auth.me`, headers: { cookie: ourCookie }, seconds: 3 });
  await getSession(off, cookies.off!, { seconds: 3 });
  await getSession(on, cookies.on!, { seconds: 3 });
  const rows = await abba({
    health: () => cannon({ url: `${server.base}/api/health`, server }),
    me: () => cannon({ url: `${server.base}/api/trpc/auth.me`, headers: { cookie: ourCookie }, server }),
    peerHealth: () => onPeer(off, () => cannon({ url: `${off.base}/api/health` })),
    off: () => onPeer(off, () => getSession(off, cookies.off!)),
    on: () => onPeer(on, () => getSession(on, cookies.on!)),
  });
  const row = (label: string, l: Load, bare: Load) =>
    say(`| ${label} | ${l.rps.toFixed(0)} | ${ms(l.p50)} | ${ms(l.p99)} | ${l.non2xx} | ${us(l.cpuUs)} | ${ratio(l.rps, bare.rps)} |`);
  say(`| app, route | req/s | p50 | p99 | non-2xx | server CPU per request | ratio to its app's bare route |`);
  say(`| --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
  row("Handoff /api/health (bare)", rows.health, rows.health);
  row("Handoff `auth.me`", rows.me, rows.health);
  row("better-auth app /api/health (bare)", rows.peerHealth, rows.peerHealth);
  row("better-auth `get-session`, cookie cache off", rows.off, rows.peerHealth);
  row("better-auth `get-session`, cookie cache on", rows.on, rows.peerHealth);
  say();
  for (const name of ["off", "on"] as const) {
    const l = rows[name]!;
    say(
      `- better-auth \`getSession\`, cookie cache ${name} / Handoff \`auth.me\`: throughput ${ratio(l.rps, rows.me.rps)}, p99 ${ratio(l.p99, rows.me.p99)}, server CPU per request ${ratio(l.cpuUs ?? NaN, rows.me.cpuUs ?? NaN)}.`,
    );
  }
  say(
    `- The two bare routes (same Next.js, no auth): better-auth's app / ours ${ratio(rows.peerHealth.rps, rows.health.rps)} (ours runs src/proxy.ts and sets security headers; the peer has neither).`,
  );
  say(
    "- Redis round trips per session read, from the code: Handoff's `auth.me` one EVALSHA (section 1); better-auth with the cookie cache off two GETs one after the other (the session's key, then `revoked-sessions-before-<user>`), with it on none (an HMAC check of the `session_data` cookie).",
  );
  say();
  return rows;
}

async function listFifty(ctx: PeerContext, peer: Peer) {
  const { say, ms, us, ratio, cannon, server } = ctx;
  say("### 8b. Listing 50 sessions: better-auth `list-sessions` vs `sessions.list`");
  const ours = await ctx.userWithSessions(server.base, 50, 20);
  const ourCookie = ours.cookieHeader();
  const address = ctx.email("peer-many");
  const first = peerBrowser(peer.base);
  await first.signUp(address);
  for (let i = 1; i < 50; i++) await peerBrowser(peer.base).signIn(address);
  const listed = (await first.list()).length;
  const peerCookie = first.cookieHeader();
  await cannon({ url: `${server.base}/api/trpc/sessions.list`, headers: { cookie: ourCookie }, seconds: 1 }); // warm-up
  await cannon({ url: `${peer.base}/api/auth/list-sessions`, headers: { cookie: peerCookie }, seconds: 1 });
  const rows = await abba({
    health: () => cannon({ url: `${server.base}/api/health`, server }),
    list: () => cannon({ url: `${server.base}/api/trpc/sessions.list`, headers: { cookie: ourCookie }, server }),
    peerHealth: () => onPeer(peer, () => cannon({ url: `${peer.base}/api/health` })),
    peerList: () => onPeer(peer, () => cannon({ url: `${peer.base}/api/auth/list-sessions`, headers: { cookie: peerCookie } })),
  });
  const { health, list, peerHealth, peerList } = rows;
  say(`| app | bare req/s | list req/s | p50 | p99 | non-2xx | ratio to its bare route | server CPU per request (bare / list) |`);
  say(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  say(
    `| Handoff \`sessions.list\`, 50 sessions / 20 devices | ${health.rps.toFixed(0)} | ${list.rps.toFixed(0)} | ${ms(list.p50)} | ${ms(list.p99)} | ${list.non2xx} | ${ratio(list.rps, health.rps)} | ${us(health.cpuUs)} / ${us(list.cpuUs)} |`,
  );
  say(
    `| better-auth \`list-sessions\`, ${listed} sessions | ${peerHealth.rps.toFixed(0)} | ${peerList.rps.toFixed(0)} | ${ms(peerList.p50)} | ${ms(peerList.p99)} | ${peerList.non2xx} | ${ratio(peerList.rps, peerHealth.rps)} | ${us(peerHealth.cpuUs)} / ${us(peerList.cpuUs)} |`,
  );
  say();
  say(
    `better-auth / Handoff: throughput ${ratio(peerList.rps, list.rps)}, p99 ${ratio(peerList.p99, list.p99)}, server CPU per request ${ratio(peerList.cpuUs ?? NaN, list.cpuUs ?? NaN)}. better-auth reads the user's \`active-sessions\` list, then each session's key one GET after another (${listed} + 3 round trips); ours is one script call.`,
  );
  say();
  return { health, list, peerHealth, peerList, listed };
}

async function revokedOnNextRequest(ctx: PeerContext, peer: Peer) {
  const address = ctx.email("peer-revoke");
  const owner = peerBrowser(peer.base);
  await owner.signUp(address);
  let rejected = 0;
  for (let i = 0; i < ctx.runs; i++) {
    const victim = peerBrowser(peer.base);
    const { token } = await victim.signIn(address);
    if (!(await victim.session())) throw new Error("a fresh better-auth session was not accepted");
    await owner.revoke(token);
    if ((await victim.session()) === null) rejected++;
  }
  return rejected;
}

async function revokedWindowWithCache(peer: Peer) {
  const address = `peer-cache-${Date.now()}@example.com`;
  const owner = peerBrowser(peer.base);
  await owner.signUp(address);
  const victim = peerBrowser(peer.base);
  const { token } = await victim.signIn(address);
  const issued = performance.now();
  await owner.revoke(token);
  const t0 = performance.now();
  const acceptedRightAfter = (await victim.session()) !== null;
  const deadline = t0 + 2 * DEFAULT_COOKIE_CACHE_MAX_AGE_S * 1000;
  while ((await victim.session()) !== null) {
    if (performance.now() > deadline) throw new Error("the revoked session was still accepted after twice the cookie cache's maxAge");
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { seconds: (performance.now() - t0) / 1000, cacheAgeAtRevokeS: (t0 - issued) / 1000, acceptedRightAfter };
}

async function signIns(ctx: PeerContext, argon2Peer: Peer, startStock: () => Promise<Peer>) {
  const { say, ms, us, ratio, cannon, server } = ctx;
  say(`### 8c. Sign-in: ${ctx.connections} concurrent, ${ctx.connections} accounts from ${ctx.connections} addresses`);
  const threads = os.availableParallelism?.() ?? os.cpus().length;
  const argonHash = await argon2.hash(PASSWORD, PASSWORD_HASH_OPTIONS);
  const scryptStored = await scryptHash(PASSWORD);
  const ceilings = {
    argon2: await verificationsPerSecond(() => argon2.verify(argonHash, PASSWORD), threads, 3000),
    scrypt: await verificationsPerSecond(() => scryptVerify({ hash: scryptStored, password: PASSWORD }), threads, 3000),
  };
  const ip = (i: number) => `198.19.${i >> 8}.${i & 255}`;
  // Ours, as section 3: each account from its own known device and address.
  const ourAccounts: { body: string; cookie: string }[] = [];
  for (let i = 0; i < ctx.connections; i++) {
    const b = browser(server.base);
    const address = ctx.email(`peer-signin${i}`);
    await b.api.auth.register.mutate({ email: address, password: PASSWORD });
    ourAccounts.push({ body: JSON.stringify({ json: { email: address, password: PASSWORD } }), cookie: `handoff_device=${b.jar.get("handoff_device")}` });
  }
  const peerAccounts = async (peer: Peer) => {
    const bodies: string[] = [];
    for (let i = 0; i < ctx.connections; i++) {
      const address = ctx.email(`peer-signin${i}`);
      await peerBrowser(peer.base).signUp(address);
      bodies.push(JSON.stringify({ email: address, password: PASSWORD }));
    }
    return bodies;
  };
  const rotate = (pick: (i: number) => { body: string; headers: Record<string, string> }): Setup => {
    let next = 0;
    return (request) => {
      const { body, headers } = pick(next++ % ctx.connections);
      return { ...request, body, headers: { ...request.headers, ...headers } };
    };
  };
  const ourLogin = (extra: { server?: Server } = {}) =>
    cannon({
      url: `${server.base}/api/trpc/auth.login`,
      method: "POST",
      headers: { "content-type": "application/json", origin: server.base },
      setupRequest: rotate((i) => ({ body: ourAccounts[i]!.body, headers: { cookie: ourAccounts[i]!.cookie, "x-forwarded-for": ip(i) } })),
      ...extra,
    });
  const peerLogin = (peer: Peer, bodies: string[], extra: { seconds?: number } = {}) =>
    cannon({
      url: `${peer.base}/api/auth/sign-in/email`,
      method: "POST",
      headers: { "content-type": "application/json", origin: peer.base },
      setupRequest: rotate((i) => ({ body: bodies[i]!, headers: { "x-forwarded-for": ip(i) } })),
      ...extra,
    });
  const argonBodies = await peerAccounts(argon2Peer);
  // Session reads during the burst, 8 connections, as section 3.
  const ourReader = browser(server.base);
  await ourReader.api.auth.register.mutate({ email: ctx.email("peer-signin-me"), password: PASSWORD });
  const peerReader = peerBrowser(argon2Peer.base);
  await peerReader.signUp(ctx.email("peer-signin-me"));
  const meRead = () => cannon({ url: `${server.base}/api/trpc/auth.me`, headers: { cookie: ourReader.cookieHeader() }, connections: 8 });
  const peerRead = () => cannon({ url: `${argon2Peer.base}/api/auth/get-session`, headers: { cookie: peerReader.cookieHeader() }, connections: 8 });
  // autocannon abandons the requests in flight when a phase ends, but the server still hashes
  // them: one more sign-in, awaited, waits behind that backlog (the hashing queues are FIFO), so
  // the next phase starts on an idle server.
  const ourDrain = browser(server.base);
  const ourDrainAddress = ctx.email("peer-signin-drain");
  await ourDrain.api.auth.register.mutate({ email: ourDrainAddress, password: PASSWORD });
  const drained = async <T>(phase: Promise<T>, drain: () => Promise<unknown>) => {
    const result = await phase;
    await drain();
    return result;
  };
  const drainOurs = () => ourDrain.api.auth.login.mutate({ email: ourDrainAddress, password: PASSWORD });
  const drainPeer = (peer: Peer, bodies: string[]) => () => peerBrowser(peer.base).signIn((JSON.parse(bodies[0]!) as { email: string }).email);
  const rows = {
    ours: await drained(ourLogin({ server }), drainOurs),
    peerArgon2: await drained(
      onPeer(argon2Peer, () => peerLogin(argon2Peer, argonBodies)),
      drainPeer(argon2Peer, argonBodies),
    ),
    oursIdleRead: await meRead(),
    oursBurst: await drained(Promise.all([ourLogin(), meRead()]), drainOurs),
    peerIdleRead: await peerRead(),
    peerBurst: await drained(Promise.all([peerLogin(argon2Peer, argonBodies), peerRead()]), drainPeer(argon2Peer, argonBodies)),
    peerScrypt: undefined as Load | undefined,
  };
  const stock = await startStock();
  const scryptBodies = await peerAccounts(stock);
  // At 64 concurrent, a scrypt sign-in waits longer than autocannon's 10 s default timeout here,
  // so this phase runs longer, with a 2-minute timeout, to reach its steady state.
  const scryptSeconds = 3 * ctx.seconds;
  rows.peerScrypt = await onPeer(stock, async () => {
    const r = await autocannon({
      url: `${stock.base}/api/auth/sign-in/email`,
      method: "POST",
      headers: { "content-type": "application/json", origin: stock.base },
      requests: [
        { setupRequest: rotate((i) => ({ body: scryptBodies[i]!, headers: { "x-forwarded-for": ip(i) } })) as NonNullable<autocannon.Request["setupRequest"]> },
      ],
      connections: ctx.connections,
      duration: scryptSeconds,
      timeout: 120,
    });
    return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, non2xx: r.non2xx, errors: r.errors };
  });
  say(
    `Hashing ceilings in the bench process, ${threads} at once, no server load: argon2id (our PASSWORD_HASH_OPTIONS) ${ceilings.argon2.toFixed(0)} verifications/s; better-auth's scrypt (N=16384, r=16, p=1, node:crypto) ${ceilings.scrypt.toFixed(0)}/s.`,
  );
  say();
  const row = (label: string, l: Load) =>
    say(`| ${label} | ${l.rps.toFixed(0)} | ${ms(l.p50)} | ${ms(l.p99)} | ${l.non2xx} / ${l.errors ?? 0} | ${us(l.cpuUs)} | ${ratio(l.rps, rows.ours.rps)} |`);
  say(`| app, hashing | sign-ins/s | p50 | p99 | non-2xx / errors | server CPU per sign-in | / Handoff |`);
  say(`| --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
  row("Handoff `auth.login`, argon2id on one worker thread per core at nice 10", rows.ours);
  row("better-auth `sign-in/email`, argon2id (same options, @node-rs/argon2 on libuv's pool)", rows.peerArgon2);
  row(`better-auth \`sign-in/email\`, its default scrypt (${scryptSeconds} s phase)`, rows.peerScrypt);
  say();
  say(`| session reads (8 connections) | idle p99 | during the sign-in burst p99 | ratio | sign-ins/s in the burst |`);
  say(`| --- | ---: | ---: | ---: | ---: |`);
  say(
    `| Handoff \`auth.me\` | ${ms(rows.oursIdleRead.p99)} | ${ms(rows.oursBurst[1].p99)} | ${ratio(rows.oursBurst[1].p99, rows.oursIdleRead.p99)} | ${rows.oursBurst[0].rps.toFixed(0)} |`,
  );
  say(
    `| better-auth \`get-session\` (argon2id peer) | ${ms(rows.peerIdleRead.p99)} | ${ms(rows.peerBurst[1].p99)} | ${ratio(rows.peerBurst[1].p99, rows.peerIdleRead.p99)} | ${rows.peerBurst[0].rps.toFixed(0)} |`,
  );
  say();
  say(
    `Like for like (argon2id, same options): better-auth / Handoff sign-ins/s ${ratio(rows.peerArgon2.rps, rows.ours.rps)}; with its default scrypt ${ratio(rows.peerScrypt.rps, rows.ours.rps)}.`,
  );
  say();
  return { ceilings, ...rows };
}
