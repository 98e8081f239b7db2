#!/usr/bin/env node
// A small Handoff API client for the terminal: signs in with bearer tokens, calls the API,
// refreshes, signs out. Plain Node >= 20 (global fetch), no dependencies, so it can be copied
// anywhere. It speaks tRPC's HTTP format with superjson: inputs as {"json": ...}.
//
//   node examples/handoff-cli.mjs login  --url http://localhost:3000 --email ann@example.com
//   node examples/handoff-cli.mjs me        (refreshes by itself when the access token expired)
//   node examples/handoff-cli.mjs sessions
//   node examples/handoff-cli.mjs refresh
//   node examples/handoff-cli.mjs logout
//
// The password comes from HANDOFF_PASSWORD or a prompt; with two-factor authentication on, the
// code (from the authenticator app, or a recovery code) from HANDOFF_CODE or a prompt. Tokens are kept in
// $HANDOFF_CLI_STORE (default ~/.config/handoff-cli/credentials.json, mode 600), with the device
// key that makes this machine a known device on the next sign-in.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

const STORE = process.env.HANDOFF_CLI_STORE ?? path.join(os.homedir(), ".config", "handoff-cli", "credentials.json");

class ApiError extends Error {
  constructor(code, message, status, reason) {
    super(message);
    this.code = code;
    this.status = status;
    this.reason = reason;
  }
}

function load() {
  try {
    return JSON.parse(fs.readFileSync(STORE, "utf8"));
  } catch {
    return {};
  }
}

function save(data) {
  fs.mkdirSync(path.dirname(STORE), { recursive: true, mode: 0o700 });
  fs.writeFileSync(STORE, JSON.stringify(data, null, 2), { mode: 0o600 });
}

async function call(baseUrl, procedure, { input, accessToken, query = false } = {}) {
  const headers = { "user-agent": `handoff-cli/1.0 (${os.platform()}; node ${process.versions.node})` };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  let url = `${baseUrl}/api/trpc/${procedure}`;
  const init = { method: query ? "GET" : "POST", headers };
  if (query) {
    if (input !== undefined) url += `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  } else {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify({ json: input ?? null });
  }
  const res = await fetch(url, init);
  const body = await res.json();
  if (body.error) throw new ApiError(body.error.json.data.code, body.error.json.message, res.status, body.error.json.data.reason);
  return body.result.data.json;
}

function argument(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function password() {
  if (process.env.HANDOFF_PASSWORD) return process.env.HANDOFF_PASSWORD;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  rl._writeToOutput = () => {};
  process.stderr.write("Password: ");
  const answer = await new Promise((resolve) => rl.question("", resolve));
  rl.close();
  process.stderr.write("\n");
  return answer;
}

/** The second factor: HANDOFF_CODE (for scripts), else asked on the terminal. */
async function secondFactorCode() {
  if (process.env.HANDOFF_CODE) return process.env.HANDOFF_CODE;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise((resolve) => rl.question("Code from your authenticator app (or a recovery code): ", resolve));
  rl.close();
  return String(answer).trim();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function keep(store, baseUrl, tokens, email) {
  save({
    ...store,
    url: baseUrl,
    email: email ?? store.email,
    deviceKey: tokens.deviceKey ?? store.deviceKey,
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    refreshToken: tokens.refreshToken,
    refreshTokenExpiresAt: tokens.refreshTokenExpiresAt,
    sessionId: tokens.sessionId,
  });
}

async function login() {
  const store = load();
  const baseUrl = (argument("url") ?? store.url ?? "http://localhost:3000").replace(/\/$/, "");
  const email = argument("email") ?? store.email;
  if (!email) throw new Error("Give --email");
  const deviceName = argument("name") ?? `CLI on ${os.hostname()}`.slice(0, 64);
  const input = { email, password: await password(), deviceName, ...(store.deviceKey ? { deviceKey: store.deviceKey } : {}) };
  let result = await call(baseUrl, "tokens.issue", { input });
  if (result.status === "second_factor_required") {
    // The challenge is bound to this device key: send the same one with the code.
    save({ ...store, url: baseUrl, email, deviceKey: result.deviceKey });
    const { challengeId, deviceKey } = result;
    for (;;) {
      try {
        result = await call(baseUrl, "tokens.verifySecondFactor", { input: { challengeId, code: await secondFactorCode(), deviceKey } });
        break;
      } catch (error) {
        // A wrong code may be typed again (while attempts are left); a script's HANDOFF_CODE is tried once.
        if (!(error instanceof ApiError) || error.reason !== "wrong_second_factor_code" || process.env.HANDOFF_CODE) throw error;
        console.error(error.message);
      }
    }
  }
  if (result.status === "approval_required") {
    // Remember the device key now: once approved, this machine is a known device.
    save({ ...store, url: baseUrl, email, deviceKey: result.deviceKey });
    console.error(`New device: enter the code ${result.code} on one of your signed-in devices (until ${new Date(result.expiresAt).toLocaleTimeString()}).`);
    const { requestId, approvalSecret, deviceKey } = result;
    do {
      await sleep(2000);
      result = await call(baseUrl, "tokens.complete", { input: { requestId, approvalSecret, deviceName, deviceKey } });
    } while (result.status === "approval_pending");
  }
  keep(load(), baseUrl, result, email);
  console.log(`Signed in as ${result.user.email} (session ${result.sessionId}).`);
}

async function refresh(store) {
  if (!store.refreshToken) throw new Error("Not signed in: run login first.");
  const tokens = await call(store.url, "tokens.refresh", { input: { refreshToken: store.refreshToken } });
  keep(store, store.url, tokens);
  return { ...store, ...tokens };
}

/** Calls with the access token; when it was refused, refreshes once and tries again. */
async function authorized(procedure, options = {}) {
  let store = load();
  if (!store.accessToken) throw new Error("Not signed in: run login first.");
  try {
    return await call(store.url, procedure, { ...options, accessToken: store.accessToken });
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "UNAUTHORIZED") throw error;
    store = await refresh(store);
    return call(store.url, procedure, { ...options, accessToken: store.accessToken });
  }
}

const commands = {
  login,
  async me() {
    const me = await authorized("auth.me", { query: true });
    console.log(JSON.stringify(me, null, 2));
  },
  async sessions() {
    for (const s of await authorized("sessions.list", { query: true })) {
      console.log(`${s.current ? "*" : " "} ${s.id}  ${s.method.padEnd(8)} ${s.device.name}  ${s.ip}  ${s.location}`);
    }
  },
  async refresh() {
    const store = await refresh(load());
    console.log(`Refreshed: access token until ${store.accessTokenExpiresAt}.`);
  },
  async logout() {
    const store = load();
    if (store.accessToken) {
      try {
        await authorized("tokens.revoke", { input: { scope: "session" } });
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== "UNAUTHORIZED") throw error;
      }
    }
    save({ url: store.url, email: store.email, deviceKey: store.deviceKey });
    console.log("Signed out.");
  },
};

const command = commands[process.argv[2]];
if (!command) {
  console.error(`Usage: handoff-cli.mjs <${Object.keys(commands).join("|")}> [--url URL] [--email EMAIL] [--name DEVICE_NAME]`);
  process.exit(2);
}
try {
  await command();
} catch (error) {
  console.error(error instanceof ApiError ? `${error.code}: ${error.message}` : error.message);
  process.exit(1);
}
