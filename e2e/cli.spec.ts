import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { newEmail, PASSWORD, register } from "./helpers";

// The example CLI (examples/handoff-cli.mjs) against the running app, with a signed-in browser
// beside it: the CLI is a new device, so the browser approves it with the code the CLI prints.

const CLI = path.resolve("examples/handoff-cli.mjs");

function runCli(args: string[], env: Record<string, string>, onStderr?: (text: string) => void) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(stderr);
    });
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

test("the example CLI signs in (approved from the browser), calls auth.me with its bearer token, refreshes and signs out", async ({
  page,
  baseURL,
}, testInfo) => {
  test.setTimeout(60_000);
  const email = newEmail("cli");
  await register(page, email);
  const store = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "handoff-cli-")), "credentials.json");
  const env = { HANDOFF_PASSWORD: PASSWORD, HANDOFF_CLI_STORE: store };

  let announced: (code: string) => void;
  const codeShown = new Promise<string>((resolve) => (announced = resolve));
  const login = runCli(["login", "--url", baseURL!, "--email", email, "--name", "Release laptop CLI"], env, (stderr) => {
    const match = /enter the code (\d{6})/.exec(stderr);
    if (match) announced(match[1]!);
  });

  const prompt = page.getByRole("dialog", { name: "New sign-in to approve" });
  await expect(prompt).toBeVisible();
  await expect(prompt.getByTestId("approval-device")).toContainText("Release laptop CLI");
  await prompt.getByLabel("Code shown on the new device").fill(await codeShown);
  await prompt.getByRole("button", { name: "Approve" }).click();
  const signedIn = await login;
  expect(signedIn.code, signedIn.stderr).toBe(0);
  expect(signedIn.stdout).toContain(`Signed in as ${email}`);
  expect(fs.statSync(store).mode & 0o777).toBe(0o600);

  // The browser's dashboard shows the CLI as a device with a token session (live).
  const card = page.getByTestId("device-card").filter({ hasText: "Release laptop CLI" });
  await expect(card).toBeVisible();
  await expect(card).toContainText("Signed in with app token");
  await page.screenshot({ path: testInfo.outputPath("dashboard-with-cli.png"), fullPage: true });

  const me = await runCli(["me"], env);
  expect(me.code, me.stderr).toBe(0);
  expect(JSON.parse(me.stdout)).toMatchObject({ user: { email }, session: { method: "token" } });
  const before = JSON.parse(fs.readFileSync(store, "utf8")) as { refreshToken: string; sessionId: string };

  const refreshed = await runCli(["refresh"], env);
  expect(refreshed.code, refreshed.stderr).toBe(0);
  const after = JSON.parse(fs.readFileSync(store, "utf8")) as { refreshToken: string; sessionId: string; accessToken: string };
  expect(after.refreshToken).not.toBe(before.refreshToken);
  expect(after.sessionId).toBe(before.sessionId);
  expect((await runCli(["me"], env)).code).toBe(0);

  const sessions = await runCli(["sessions"], env);
  expect(sessions.stdout).toMatch(/\* \S+ +token +Release laptop CLI/);

  const logout = await runCli(["logout"], env);
  expect(logout.code, logout.stderr).toBe(0);
  await expect(card.getByTestId("session-row")).toHaveCount(0);
  const afterLogout = await runCli(["me"], env);
  expect(afterLogout.code).toBe(1);
  expect(afterLogout.stderr).toContain("Not signed in");

  // The old tokens are dead on the server, not only forgotten by the CLI.
  const res = await page.request.get(`${baseURL}/api/trpc/auth.me`, { headers: { authorization: `Bearer ${after.accessToken}` } });
  expect(res.status()).toBe(401);
  const refresh = await page.request.post(`${baseURL}/api/trpc/tokens.refresh`, { data: { json: { refreshToken: after.refreshToken } } });
  expect(refresh.status()).toBe(401);
});

test("the JWKS is served at /.well-known/jwks.json with public keys only", async ({ request }) => {
  const res = await request.get("/.well-known/jwks.json");
  expect(res.status()).toBe(200);
  const jwks = (await res.json()) as { keys: Record<string, string>[] };
  expect(jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid: expect.any(String) });
  expect(jwks.keys[0]).not.toHaveProperty("d");
});
