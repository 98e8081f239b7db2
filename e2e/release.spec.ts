import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { expect, test } from "@playwright/test";
import { ApiClient } from "./api-client";

// The release artefact as an operator runs it: `npm run build` leaves .next/standalone, which is
// copied ALONE into an empty folder (no project, no devDependencies next to it), migrated with its
// own runner, started with `node server.js` on the real PostgreSQL and Redis, used over HTTP,
// behind nginx with TLS, and stopped with SIGTERM. Also `npm start`'s shutdown.
// Ports 3650-3659, databases handoff_ops_*.

test.describe.configure({ mode: "serial" });

const PASSWORD = "correct horse battery staple";
const ROOT = process.cwd();
const SECRET = "release-session-secret-at-least-32-characters";
const adminUrl = "postgresql://postgres@127.0.0.1:5432/postgres";
const dbUrl = (name: string) => `postgresql://postgres@127.0.0.1:5432/${name}`;
const email = (label: string) => `${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let artefact: string;
const children: ChildProcess[] = [];

interface App {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function launch(command: string, args: string[], cwd: string, env: Record<string, string>): App {
  // Only what the environment of a service would hold: nothing from this test run leaks in.
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH!, HOME: os.tmpdir(), ...env } as unknown as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.push(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const appEnv = (port: number, database: string, extra: Record<string, string> = {}) => ({
  NODE_ENV: "production",
  HOSTNAME: "127.0.0.1",
  PORT: String(port),
  APP_URL: `http://localhost:${port}`,
  DATABASE_URL: dbUrl(database),
  REDIS_URL: "redis://127.0.0.1:6379/0",
  REDIS_PREFIX: `handoff-ops-e2e:${port}:${Date.now()}:`,
  SESSION_SECRET: SECRET,
  MAIL_ENABLED: "false",
  REGISTER_RATE_LIMIT: "1000",
  SIGN_IN_RATE_LIMIT: "1000",
  ...extra,
});

async function waitForHealth(base: string, app: App, options: { ca?: string } = {}) {
  await expect
    .poll(
      async () => {
        if (app.child.exitCode !== null) return `exited ${app.child.exitCode}: ${app.output()}`;
        return (await request(`${base}/api/health`, options).catch(() => null))?.status;
      },
      { timeout: 60_000 },
    )
    .toBe(200);
}

async function dropDatabase(name: string) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}

/** The artefact's own migration command, run from the copied folder. */
function migrateFromArtefact(env: Record<string, string>) {
  return execFileSync(process.execPath, ["scripts/migrate.mjs"], {
    cwd: artefact,
    env: { PATH: process.env.PATH!, ...env } as unknown as NodeJS.ProcessEnv,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** HTTP(S) with Node's own client: a CA to trust (the test's self-signed one), a local address to come from. */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; ca?: string; localAddress?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === "https:" ? https : http).request(
      u,
      { method: options.method ?? "GET", headers: options.headers, ca: options.ca, localAddress: options.localAddress, agent: false },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const trpcBody = (input: unknown) => JSON.stringify({ json: input });
const cookiesOf = (answer: Answer) => (answer.headers["set-cookie"] as string[] | undefined) ?? [];
const cookieHeader = (setCookies: string[]) => setCookies.map((c) => c.split(";")[0]).join("; ");

test.beforeAll(() => {
  // The Playwright web server (e2e/serve.ts) has just run `next build`; this is the rest of `npm run build`.
  execFileSync(process.execPath, ["scripts/build-artefact.mjs"], { cwd: ROOT, stdio: "pipe" });
  artefact = fs.mkdtempSync(path.join(os.tmpdir(), "handoff-release-"));
  fs.cpSync(path.join(ROOT, ".next", "standalone"), artefact, { recursive: true });
});

test.afterAll(() => {
  for (const child of children) {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  if (artefact) fs.rmSync(artefact, { recursive: true, force: true });
});

test("the artefact alone: migrated by its own command, not ready before, then sign up, sign in and revoke", async () => {
  test.setTimeout(120_000);
  expect(fs.existsSync(path.join(artefact, "server.js"))).toBe(true);
  // Only production files: no devDependency came along.
  for (const dev of ["prisma", "typescript", "@playwright/test", "vitest", "tsx", "eslint"])
    expect(fs.existsSync(path.join(artefact, "node_modules", dev)), dev).toBe(false);

  const database = "handoff_ops_artefact";
  await dropDatabase(database);
  const port = 3650;
  const base = `http://localhost:${port}`;
  const app = launch(process.execPath, ["server.js"], artefact, appEnv(port, database));
  await waitForHealth(base, app);
  // Up (live) but not ready: the database does not even exist yet.
  const before = await request(`${base}/api/ready`);
  expect(before.status).toBe(503);
  expect(JSON.parse(before.body)).toMatchObject({ ok: false, failed: ["postgres", "migrations"] });

  const migrated = migrateFromArtefact({ DATABASE_URL: dbUrl(database) });
  expect(migrated).toMatch(/Created database handoff_ops_artefact/);
  expect(migrated).toMatch(/2 migration\(s\) applied|migration\(s\) applied/);
  await expect.poll(async () => (await request(`${base}/api/ready`)).status, { timeout: 15_000 }).toBe(200);
  expect(JSON.parse((await request(`${base}/api/ready`)).body)).toEqual({
    ok: true,
    failed: [],
    checks: { postgres: { ok: true }, redis: { ok: true }, migrations: { ok: true } },
  });

  const address = email("artefact");
  const laptop = new ApiClient(base);
  expect((await laptop.mutation("auth.register", { email: address, password: PASSWORD })).status).toBe(200);
  const phone = new ApiClient(base, {
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1",
  });
  const signedIn = await phone.mutation<{ status: string }>("auth.login", { email: address, password: PASSWORD });
  // A second device while the first is signed in asks for approval (the default); the first approves with the code.
  if (signedIn.data?.status === "approval_required") {
    const { requestId, code } = signedIn.data as unknown as { requestId: string; code: string };
    expect((await laptop.mutation("approvals.confirm", { requestId, code })).status).toBe(200);
    expect((await phone.mutation("approvals.complete", { requestId })).status).toBe(200);
  } else {
    expect(signedIn.data?.status).toBe("signed_in");
  }
  const sessions = await laptop.query<Array<{ id: string; current: boolean }>>("sessions.list");
  expect(sessions.data).toHaveLength(2);
  const phoneSession = sessions.data!.find((s) => !s.current)!;
  expect((await laptop.mutation("sessions.revoke", { sessionId: phoneSession.id })).data).toEqual({ ok: true, current: false });
  expect((await phone.query("auth.me")).error?.data.code).toBe("UNAUTHORIZED");
  expect((await laptop.query("sessions.list")).data).toHaveLength(1);

  app.child.kill("SIGTERM");
  expect(await app.exited).toBe(0);
});

test("production refuses the embedded database and in-memory Redis unless ALLOW_EMBEDDED=true", async () => {
  test.setTimeout(120_000);
  const port = 3652;
  const base = `http://localhost:${port}`;
  const env = { NODE_ENV: "production", HOSTNAME: "127.0.0.1", PORT: String(port), APP_URL: base, SESSION_SECRET: SECRET, MAIL_ENABLED: "false" };
  const refused = launch(process.execPath, ["server.js"], artefact, env);
  const code = await Promise.race([refused.exited, sleep(45_000).then(() => "timeout")]);
  expect(code, refused.output()).toBe(1);
  expect(refused.output()).toContain("Handoff cannot start");
  expect(refused.output()).toContain("set DATABASE_URL=postgresql://");
  expect(refused.output()).toContain("set REDIS_URL=redis://");
  expect(refused.output()).toContain("ALLOW_EMBEDDED=true");

  // Said explicitly, the demo runs: the embedded PGlite migrated by the same runner.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "handoff-embedded-"));
  const embedded = { ...env, ALLOW_EMBEDDED: "true", DATA_DIR: dataDir };
  expect(() => migrateFromArtefact({ NODE_ENV: "production", DATA_DIR: dataDir })).toThrow(/set DATABASE_URL=postgresql:\/\//);
  expect(migrateFromArtefact(embedded)).toMatch(/embedded PGlite .* migration\(s\) applied/);
  const app = launch(process.execPath, ["server.js"], artefact, embedded);
  await waitForHealth(base, app);
  expect((await new ApiClient(base).mutation("auth.register", { email: email("embedded"), password: PASSWORD })).status).toBe(200);
  expect((await request(`${base}/api/ready`)).status).toBe(200);
  app.child.kill("SIGTERM");
  expect(await app.exited).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Whether a new TCP connection to the port is refused. */
const refusesConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });

/** TCP connections to a local port the kernel holds as established (accepted or waiting to be), from /proc (Linux). */
function establishedTo(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, "utf8").split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${hexPort}`) && state === "01") count++;
    }
  }
  return count;
}

/**
 * SIGTERM with 24 sign-ups in flight (queued behind one password-hashing thread) and a live
 * event stream open: every sign-up answers 200, some after the signal; the stream ends at once; new
 * connections are refused while the rest drain; the process exits 0.
 */
async function drainsOnSigterm(app: App, port: number, signalled: ChildProcess) {
  const base = `http://localhost:${port}`;
  const owner = new ApiClient(base);
  expect((await owner.mutation("auth.register", { email: email("owner"), password: PASSWORD })).status).toBe(200);
  const stream = await owner.raw("sessions.onEvent", { query: `input=${encodeURIComponent(JSON.stringify({ json: {} }))}` });
  expect(stream.headers.get("content-type")).toContain("text/event-stream");
  const reader = stream.body!.getReader();
  await reader.read(); // the stream is open (tRPC's "connected")
  const streamEnded = (async () => {
    try {
      for (;;) if ((await reader.read()).done) return "ended";
    } catch {
      return "ended";
    }
  })().then((how) => ({ how, at: Date.now() }));

  let pending = 24;
  const sent = Array.from({ length: 24 }, (_, i) =>
    new ApiClient(base)
      .mutation("auth.register", { email: email(`inflight${i}`), password: PASSWORD })
      .then(
        (r) => ({ status: r.status, at: Date.now() }),
        (error: unknown) => ({ status: -1, at: Date.now(), error: String(error) }),
      )
      .finally(() => pending--),
  );
  // In flight means connected: fetch connects each one on its own (a DNS lookup first), and on a
  // busy machine the last can still be connecting when the first answer is back. A connection
  // made after the signal is a new one, which shutdown refuses. 25: the 24 and the stream's (fetch
  // reuses the owner's kept-alive connection for one of them or for the stream).
  await expect.poll(() => establishedTo(port), { timeout: 10_000, intervals: [5] }).toBeGreaterThanOrEqual(25);
  await Promise.race(sent);
  const sigtermAt = Date.now();
  signalled.kill("SIGTERM");
  let pendingWhenRefused = -1;
  await expect
    .poll(
      async () => {
        const refused = await refusesConnections(port);
        if (refused && pendingWhenRefused < 0) pendingWhenRefused = pending;
        return refused;
      },
      { timeout: 5_000, intervals: [10] },
    )
    .toBe(true);
  const results = await Promise.all(sent);
  expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
  expect(results.filter((r) => r.at > sigtermAt).length).toBeGreaterThan(0);
  expect(pendingWhenRefused, "new connections were refused while sign-ups were still draining").toBeGreaterThan(0);
  const ended = await streamEnded;
  expect(ended.how).toBe("ended");
  expect(ended.at - sigtermAt).toBeLessThan(3_000);
  expect(await app.exited).toBe(0);
  expect(app.output()).toMatch(/\[shutdown\] SIGTERM: closing 1 listener\(s\), ending 1 event stream\(s\)/);
  expect(app.output()).toMatch(/\[shutdown\] done in \d+ ms/);
  expect(app.output()).not.toMatch(/still running after/);
}

test("graceful shutdown of `node server.js`: requests in flight finish, the event stream ends, exit 0", async () => {
  test.setTimeout(120_000);
  const database = "handoff_ops_shutdown";
  await dropDatabase(database);
  migrateFromArtefact({ DATABASE_URL: dbUrl(database) });
  const port = 3655;
  const app = launch(process.execPath, ["server.js"], artefact, appEnv(port, database, { PASSWORD_HASH_CONCURRENCY: "1" }));
  await waitForHealth(`http://localhost:${port}`, app);
  await drainsOnSigterm(app, port, app.child);
});

test("graceful shutdown of `npm start` (migrations, then next start): the same", async () => {
  test.setTimeout(120_000);
  const database = "handoff_ops_npm_start";
  await dropDatabase(database);
  const port = 3651;
  // npm start creates and migrates the database itself, then runs next start in npm's place (exec).
  const app = launch("npm", ["start", "--", "-p", String(port)], ROOT, appEnv(port, database, { PASSWORD_HASH_CONCURRENCY: "1" }));
  await waitForHealth(`http://localhost:${port}`, app);
  expect(app.output()).toMatch(/Created database handoff_ops_npm_start/);
  await drainsOnSigterm(app, port, app.child);
});

test("behind nginx with TLS: __Host- Secure cookies, the client IP from nginx's X-Forwarded-For only, live events through it", async () => {
  test.setTimeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "handoff-nginx-"));
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
    {
      stdio: "pipe",
    },
  );
  const ca = fs.readFileSync(`${dir}/cert.pem`, "utf8");
  const appPort = 3653;
  const proxyPort = 3654;
  // deploy/nginx/handoff.conf as shipped, with the lines marked "test:" adapted.
  const site = fs
    .readFileSync(path.join(ROOT, "deploy/nginx/handoff.conf"), "utf8")
    .split("\n")
    .filter((line) => !line.includes("# test: removed"))
    .map((line) =>
      line
        .replace(/server 127\.0\.0\.1:3000;.*$/, `server 127.0.0.1:${appPort};`)
        .replace(/listen 443 ssl http2;.*$/, `listen 127.0.0.1:${proxyPort} ssl http2;`)
        .replace(/ssl_certificate \S+;.*$/, `ssl_certificate ${dir}/cert.pem;`)
        .replace(/ssl_certificate_key \S+;.*$/, `ssl_certificate_key ${dir}/key.pem;`),
    )
    .join("\n");
  expect(site).not.toMatch(/listen 80|:443|\/etc\/ssl/);
  fs.writeFileSync(`${dir}/handoff.conf`, site);
  fs.writeFileSync(
    `${dir}/nginx.conf`,
    [
      "daemon off;",
      "master_process off;",
      `error_log ${dir}/error.log;`,
      `pid ${dir}/nginx.pid;`,
      "events {}",
      "http {",
      "  access_log off;",
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  include ${dir}/handoff.conf;`,
      "}",
    ].join("\n"),
  );
  const nginx = launch("nginx", ["-p", dir, "-c", `${dir}/nginx.conf`], dir, {});

  const database = "handoff_ops_proxy";
  await dropDatabase(database);
  migrateFromArtefact({ DATABASE_URL: dbUrl(database) });
  const origin = `https://localhost:${proxyPort}`;
  const app = launch(
    process.execPath,
    ["server.js"],
    artefact,
    appEnv(appPort, database, { APP_URL: origin, TRUST_PROXY: "true", NEW_DEVICE_APPROVAL: "false", LIVE_POLL_MS: "100" }),
  );
  await waitForHealth(origin, app, { ca });

  // The client comes from 127.0.0.2 and claims to be 203.0.113.9; nginx talks to the app from 127.0.0.1.
  const from = { ca, localAddress: "127.0.0.2" };
  const json = { "content-type": "application/json", origin, "x-forwarded-for": "203.0.113.9" };
  const address = email("proxy");
  const registered = await request(`${origin}/api/trpc/auth.register`, {
    ...from,
    method: "POST",
    headers: json,
    body: trpcBody({ email: address, password: PASSWORD }),
  });
  expect(registered.status, registered.body).toBe(200);
  const setCookies = cookiesOf(registered);
  expect(setCookies.map((c) => c.split("=")[0])).toEqual(expect.arrayContaining(["__Host-handoff_session", "__Host-handoff_device"]));
  for (const cookie of setCookies) {
    expect(cookie).toMatch(/^__Host-/);
    expect(cookie).toMatch(/; Secure/i);
    expect(cookie).toMatch(/; Path=\//i);
    expect(cookie).not.toMatch(/; Domain=/i);
  }
  const cookie = cookieHeader(setCookies.filter((c) => !/Max-Age=0/i.test(c)));
  const list = await request(`${origin}/api/trpc/sessions.list`, { ...from, headers: { cookie, "x-forwarded-for": "198.51.100.7" } });
  const sessions = (JSON.parse(list.body) as { result: { data: { json: Array<{ ip: string }> } } }).result.data.json;
  expect(sessions.map((s) => s.ip)).toEqual(["127.0.0.2"]);

  // A live event through nginx over https: the stream is open, a sign-in elsewhere shows up on it.
  const received = new Promise<string>((resolve, reject) => {
    const req = https.get(
      `${origin}/api/trpc/sessions.onEvent?input=${encodeURIComponent(trpcBody({}))}`,
      { ca, headers: { cookie, accept: "text/event-stream" }, agent: false },
      (res) => {
        expect(res.headers["content-type"]).toContain("text/event-stream");
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('"type":"signed_in"')) {
            resolve(text);
            req.destroy();
          }
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    setTimeout(() => reject(new Error("no live event through nginx within 10 s")), 10_000);
  });
  await sleep(500); // the stream is running and has read the feed's end
  const login = await request(`${origin}/api/trpc/auth.login`, { ca, method: "POST", headers: json, body: trpcBody({ email: address, password: PASSWORD }) });
  expect(login.status, login.body).toBe(200);
  expect(await received).toContain('"method":"password"');

  app.child.kill("SIGTERM");
  expect(await app.exited).toBe(0);
  nginx.child.kill("SIGTERM");
  await nginx.exited;
  fs.rmSync(dir, { recursive: true, force: true });
});
