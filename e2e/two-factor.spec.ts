import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { Secret, TOTP } from "otpauth";
import { fillCredentials, newEmail, PASSWORD, forgetThisDevice, register, signInByQr } from "./helpers";

// Two-factor authentication end to end: the codes are computed here from the secret the dashboard
// shows, as an authenticator app would.

// Each test sets up an account with two-factor first: more than the default 30 s on a busy machine.
test.describe.configure({ timeout: 120_000 });

const codeAt = (secret: string, at: number) =>
  new TOTP({ algorithm: "SHA1", digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: at });

const panel = (page: Page) => page.getByRole("region", { name: "Two-factor authentication" });

/** Turns two-factor on from the dashboard: the secret and the recovery codes shown. */
async function turnOn(page: Page, screenshot?: (name: string) => string) {
  const twoFactor = panel(page);
  await twoFactor.getByRole("button", { name: "Set up two-factor authentication" }).click();
  await expect(twoFactor.getByRole("img", { name: "QR code to add Handoff to your authenticator app" })).toBeVisible();
  const secret = (await twoFactor.getByTestId("totp-secret").textContent())!.replace(/\s/g, "");
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  if (screenshot) {
    await twoFactor.screenshot({ path: screenshot("setup.png") });
  }
  await twoFactor.getByLabel("Enter the 6-digit code the app shows:").fill(codeAt(secret, Date.now()));
  await twoFactor.getByRole("button", { name: "Turn on" }).click();
  const list = twoFactor.getByRole("list", { name: "Recovery codes" });
  await expect(list.getByRole("listitem")).toHaveCount(10);
  const recoveryCodes = await list.getByRole("listitem").allTextContents();
  if (screenshot) await twoFactor.screenshot({ path: screenshot("recovery-codes.png") });
  await twoFactor.getByRole("button", { name: "I have saved them" }).click();
  await expect(twoFactor.getByTestId("two-factor-state")).toContainText("10 of 10 recovery codes left");
  return { secret, recoveryCodes };
}

async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
}

async function passwordStep(page: Page, email: string) {
  await fillCredentials(page, email, PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByText("Enter the 6-digit code from your authenticator app.")).toBeVisible();
}

test("turn two-factor on, sign in with password + code, then with a recovery code, then turn it off", async ({ page }, testInfo) => {
  const email = newEmail("2fa");
  await register(page, email);
  const { secret, recoveryCodes } = await turnOn(page, (name) => testInfo.outputPath(name));

  // Password, then the code (the next time step: the one used to turn it on is spent).
  await signOut(page);
  await passwordStep(page, email);
  const code = page.getByLabel("Authentication code");
  await expect(code).toHaveAttribute("inputmode", "numeric");
  await expect(code).toHaveAttribute("autocomplete", "one-time-code");
  await code.fill("000000" === codeAt(secret, Date.now() + 30_000) ? "111111" : "000000");
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("main").getByRole("alert")).toContainText("4 attempts left");
  await page.screenshot({ path: testInfo.outputPath("code-step.png"), fullPage: true });
  await code.fill(codeAt(secret, Date.now() + 30_000));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("user-email")).toHaveText(email);

  // A recovery code instead.
  await signOut(page);
  await passwordStep(page, email);
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  await page.getByLabel("Recovery code").fill(recoveryCodes[0]!);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(panel(page).getByTestId("two-factor-state")).toContainText("9 of 10 recovery codes left");

  // Off, with another recovery code; the password alone signs in again.
  await panel(page).getByRole("button", { name: "Turn off" }).click();
  await panel(page).getByLabel("Code from your authenticator app (or a recovery code)").fill(recoveryCodes[1]!);
  await panel(page).getByRole("button", { name: "Turn off two-factor" }).click();
  await expect(panel(page).getByTestId("two-factor-state")).toContainText("Off:");
  await signOut(page);
  await fillCredentials(page, email, PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
});

test("with two-factor on, the re-authentication prompt asks for the password and a code", async ({ page, browser }, testInfo) => {
  const email = newEmail("2fa-reauth");
  await register(page, email);
  const { secret } = await turnOn(page);

  // A second browser signed in by QR never entered a password or code: its sensitive actions ask for both.
  const second = await (await browser.newContext()).newPage();
  await signInByQr(page, second);

  const confirm = await forgetThisDevice(second);
  await confirm.getByLabel("Your password").fill(PASSWORD);
  const code = confirm.getByLabel("Code from your authenticator app");
  await expect(code).toHaveAttribute("autocomplete", "one-time-code");
  await code.fill("000000" === codeAt(secret, Date.now() + 30_000) ? "111111" : "000000");
  await confirm.getByRole("button", { name: "Forget device" }).click();
  await expect(confirm.getByRole("alert")).toContainText("That code is not right");
  await second.screenshot({ path: testInfo.outputPath("reauth-with-code.png"), fullPage: true });
  await code.fill(codeAt(secret, Date.now() + 30_000));
  await confirm.getByRole("button", { name: "Forget device" }).click();
  await expect(second).toHaveURL(/\/login/);
});

test("with two-factor on, changing the password and deleting the account ask for a code as well", async ({ page }, testInfo) => {
  const email = newEmail("2fa-account");
  await register(page, email);
  const { recoveryCodes } = await turnOn(page);

  const passwordPanel = page.getByRole("region", { name: "Password" });
  await passwordPanel.getByLabel("Current password").fill(PASSWORD);
  await passwordPanel.getByLabel("New password").fill("a brand new passphrase");
  const code = passwordPanel.getByLabel("Code from your authenticator app");
  await expect(code).toBeVisible();
  await code.fill("abcde-fghjk");
  await passwordPanel.getByRole("button", { name: "Change password" }).click();
  await expect(passwordPanel.getByRole("alert")).toContainText("That code is not right");
  await passwordPanel.screenshot({ path: testInfo.outputPath("change-password-with-code.png") });
  await code.fill(recoveryCodes[0]!);
  await passwordPanel.getByRole("button", { name: "Change password" }).click();
  await expect(passwordPanel.getByRole("status")).toContainText("Password changed.");

  const account = page.getByRole("region", { name: "Account" });
  await account.getByRole("button", { name: "Delete my account" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete your account?" });
  await dialog.getByLabel("Your password").fill("a brand new passphrase");
  await dialog.getByLabel("Code from your authenticator app").fill(recoveryCodes[1]!);
  await page.screenshot({ path: testInfo.outputPath("delete-with-code.png"), fullPage: true });
  await dialog.getByRole("button", { name: "Delete account" }).click();
  await expect(page).toHaveURL(/\/login\?reason=account_deleted$/);
});

test("without JavaScript, the sign-in goes on to a second-factor page that also works without it", async ({ browser }, testInfo) => {
  const setupContext = await browser.newContext();
  const setupPage = await setupContext.newPage();
  const email = newEmail("2fa-nojs");
  await register(setupPage, email);
  const { recoveryCodes } = await turnOn(setupPage);
  // Signed in nowhere else, so the new browser needs no approval (which would need JavaScript).
  await signOut(setupPage);
  await setupContext.close();

  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("textbox", { name: "Password", exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/login\/second-factor\?challenge=/);
  await page.getByLabel("Authentication code").fill("000000");
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("main").getByRole("alert")).toContainText("not right");
  await page.screenshot({ path: testInfo.outputPath("second-factor-nojs.png"), fullPage: true });
  await page.getByLabel("Authentication code").fill(recoveryCodes[0]!);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await context.close();
});

test("phone: the panel and the code step fit the screen", async ({ browser }, testInfo) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const email = newEmail("2fa-phone");
  await register(page, email);
  await turnOn(page, (name) => testInfo.outputPath(`phone-${name}`));
  await panel(page).screenshot({ path: testInfo.outputPath("phone-panel-on.png") });
  await signOut(page);
  await passwordStep(page, email);
  await page.screenshot({ path: testInfo.outputPath("phone-code-step.png"), fullPage: true });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(390);
  await context.close();
});

function runCli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.resolve("examples/handoff-cli.mjs"), ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end();
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

test("the example CLI asks for the second factor (HANDOFF_CODE for scripts)", async ({ page, baseURL }) => {
  const email = newEmail("2fa-cli");
  await register(page, email);
  const { secret } = await turnOn(page);
  await signOut(page);
  const store = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "handoff-cli-2fa-")), "credentials.json");
  const login = (code: string) =>
    runCli(["login", "--url", baseURL!, "--email", email, "--name", "2FA CLI"], { HANDOFF_PASSWORD: PASSWORD, HANDOFF_CLI_STORE: store, HANDOFF_CODE: code });
  const wrong = await login(codeAt(secret, Date.now()) === "000000" ? "111111" : "000000");
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain("not right");
  const right = await login(codeAt(secret, Date.now() + 30_000));
  expect(right.code, right.stderr).toBe(0);
  expect(right.stdout).toContain(`Signed in as ${email}`);
  const me = await runCli(["me"], { HANDOFF_CLI_STORE: store });
  expect(JSON.parse(me.stdout)).toMatchObject({ user: { email }, session: { method: "token" } });
});
