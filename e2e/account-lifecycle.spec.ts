import { expect, test, type Page } from "@playwright/test";
import fs from "node:fs";
import { fillCredentials, newEmail, PASSWORD, register, signInWithApproval } from "./helpers";
import { linkPath, mailTo } from "./mail";

const NEW_PASSWORD = "a fresh passphrase from the mail";
const PHONE = { width: 393, height: 851 };

/** A full-page screenshot at desktop and at phone size (the page is looked at, see the report). */
async function screenshots(page: Page, name: string, outputPath: (name: string) => string) {
  await page.screenshot({ path: outputPath(`${name}-desktop.png`), fullPage: true });
  const before = page.viewportSize();
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: outputPath(`${name}-phone.png`), fullPage: true });
  if (before) await page.setViewportSize(before);
}

test("forgot password from a device waiting for approval: mail, reset, every device out, sign in as the first", async ({ page, browser }, testInfo) => {
  const email = newEmail("forgot");
  await register(page, email);

  // A new device: the password is right, but approval needs the other device, which is "lost".
  const stuck = await (await browser.newContext()).newPage();
  await stuck.goto("/login");
  await fillCredentials(stuck, email);
  await stuck.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(stuck.getByTestId("approval-code")).toBeVisible();
  await stuck.getByRole("link", { name: "Reset your password by email" }).click();
  await expect(stuck).toHaveURL(/\/forgot$/);
  await screenshots(stuck, "forgot", (n) => testInfo.outputPath(n));

  await stuck.getByLabel("Email").fill(email);
  await stuck.getByRole("button", { name: "Email me a reset link" }).click();
  await expect(stuck.getByTestId("reset-requested")).toContainText("If an account uses this address");

  const mail = await mailTo(email, /reset your password/);
  const path = linkPath(mail, "reset");
  const reset = stuck.waitForResponse((r) => r.url().endsWith(path));
  await stuck.goto(path);
  // The token page sends no Referer to other sites.
  expect((await reset).headers()["referrer-policy"]).toBe("same-origin");
  await screenshots(stuck, "reset", (n) => testInfo.outputPath(n));
  await stuck.getByRole("textbox", { name: "New password", exact: true }).fill(NEW_PASSWORD);
  await stuck.getByRole("textbox", { name: "New password again" }).fill(`${NEW_PASSWORD}!`);
  await stuck.getByRole("button", { name: "Set new password" }).click();
  await expect(stuck.getByRole("main").getByText("The two passwords differ.")).toBeVisible();
  await stuck.getByRole("textbox", { name: "New password", exact: true }).fill(NEW_PASSWORD);
  await stuck.getByRole("textbox", { name: "New password again" }).fill(NEW_PASSWORD);
  await stuck.getByRole("button", { name: "Set new password" }).click();
  await expect(stuck).toHaveURL(/\/login\?reason=password_reset$/);
  await expect(stuck.getByRole("main")).toContainText("Your password was reset");

  // The other device's open dashboard leaves by itself; its session is over.
  await expect(page).toHaveURL(/\/login\?reason=password_reset$/);

  // The link worked once.
  await stuck.goto(path);
  await expect(stuck.getByTestId("link-invalid")).toContainText("does not work");

  // No session anywhere: this device signs in with the new password as the first one, no approval.
  await stuck.goto("/login");
  await fillCredentials(stuck, email, NEW_PASSWORD);
  await stuck.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(stuck).toHaveURL(/\/dashboard$/);
  expect((await mailTo(email, /your password was reset/)).text).toContain("1 session was signed out");
});

test("the forms post without JavaScript too, and nothing lands in the URL", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const email = newEmail("nojs");
  // Register through the API-less form post.
  await page.goto("/register");
  await fillCredentials(page, email);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await context.clearCookies();

  await page.goto("/forgot");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a reset link" }).click();
  await expect(page.getByTestId("reset-requested")).toBeVisible();
  expect(page.url()).not.toContain(encodeURIComponent(email));
  const path = linkPath(await mailTo(email, /reset your password/), "reset");
  await page.goto(path);
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("New password again").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/login\?reason=password_reset$/);
  expect(page.url()).not.toContain("passphrase");
  await fillCredentials(page, email, PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("main").getByRole("alert")).toContainText("Invalid email or password");
});

test("verify the address from the dashboard's banner: a new link, the mail, the button; the banner goes", async ({ page }, testInfo) => {
  const email = newEmail("verify");
  await register(page, email);
  const banner = page.getByTestId("verify-banner");
  await expect(banner).toContainText(`We sent a link to ${email}`);
  const first = linkPath(await mailTo(email, /confirm your email address/), "verify");
  await screenshots(page, "dashboard-unverified", (n) => testInfo.outputPath(n));

  // "Check your inbox" (where EMAIL_VERIFICATION=required keeps an unverified account).
  await page.goto("/verify");
  await expect(page.getByTestId("check-inbox")).toContainText(email);
  await screenshots(page, "check-inbox", (n) => testInfo.outputPath(n));
  await page.goto("/dashboard");

  await banner.getByRole("button", { name: "Send a new link" }).click();
  await expect(banner.getByRole("status")).toHaveText(`Sent to ${email}. The previous link no longer works.`);
  let second = first;
  await expect.poll(async () => (second = linkPath(await mailTo(email, /confirm your email address/), "verify"))).not.toBe(first);

  await page.goto(first);
  await expect(page.getByTestId("link-invalid")).toBeVisible();
  await page.goto(second);
  await screenshots(page, "verify", (n) => testInfo.outputPath(n));
  await page.getByRole("button", { name: "Verify my address" }).click();
  await expect(page.getByTestId("verify-done")).toHaveText(`${email} is verified.Go to your dashboard`);
  await page.getByRole("link", { name: "Go to your dashboard" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("user-email")).toHaveText(email);
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);
});

test("change the address from the Account section: a link to the new one, the switch when it is opened", async ({ page }, testInfo) => {
  const email = newEmail("old");
  const next = newEmail("new");
  await register(page, email);
  const account = page.getByRole("region", { name: "Account" });
  await expect(account.getByTestId("account-email")).toHaveText(email);
  await expect(account.getByTestId("email-badge")).toHaveText("Not verified");
  await account.getByLabel("New address").fill(next);
  await account.getByRole("button", { name: "Change address" }).click();
  await expect(account.getByRole("status")).toContainText(`We sent a link to ${next}`);
  await account.scrollIntoViewIfNeeded();
  await screenshots(page, "account-section", (n) => testInfo.outputPath(n));
  expect((await mailTo(email, /change of your email address was requested/)).text).not.toContain(next);

  await page.goto(linkPath(await mailTo(next, /confirm your new email address/), "verify"));
  await page.getByRole("button", { name: "Switch to this address" }).click();
  await expect(page.getByTestId("verify-done")).toContainText(`${next} is verified.`);
  await page.goto("/dashboard");
  await expect(page.getByTestId("user-email")).toHaveText(next);
  await expect(account.getByTestId("account-email")).toHaveText(next);
  await expect(account.getByTestId("email-badge")).toHaveText("Verified");
  await expect(account.getByTestId("security-event").first()).toHaveText(/Email address changed/);
  await expect(mailTo(email, /your email address was changed/)).resolves.toBeTruthy();
});

test("download my data: one JSON file with the profile, devices, sessions, history and security events", async ({ page }) => {
  const email = newEmail("export");
  await register(page, email);
  const account = page.getByRole("region", { name: "Account" });
  const downloading = page.waitForEvent("download");
  await account.getByRole("button", { name: "Download my data" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^handoff-data-\d{4}-\d{2}-\d{2}\.json$/);
  const data = JSON.parse(fs.readFileSync((await download.path())!, "utf8")) as {
    format: string;
    profile: { email: string };
    devices: unknown[];
    sessions: { current: boolean }[];
    signInHistory: unknown[];
    securityEvents: { type: string }[];
  };
  expect(data.format).toBe("handoff-export/1");
  expect(data.profile.email).toBe(email);
  expect(data.devices).toHaveLength(1);
  expect(data.sessions).toEqual([expect.objectContaining({ current: true })]);
  expect(data.signInHistory).toHaveLength(1);
  expect(data.securityEvents.map((e) => e.type)).toContain("data_exported");
  // The download shows up in the security activity.
  await expect(account.getByTestId("security-event").first()).toHaveText(/Your data was downloaded/);
});

test("delete the account: password asked, every device leaves, a goodbye mail, the address is free again", async ({ page, browser }, testInfo) => {
  const email = newEmail("delete");
  await register(page, email);
  const other = await (await browser.newContext()).newPage();
  await signInWithApproval(other, email, page);

  const account = page.getByRole("region", { name: "Account" });
  await account.getByRole("button", { name: "Delete my account" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete your account?" });
  await dialog.getByLabel("Your password").fill("not my password");
  await dialog.getByRole("button", { name: "Delete account" }).click();
  await expect(dialog.getByRole("alert")).toHaveText("Wrong password. Your account was not deleted.");
  await screenshots(page, "delete-dialog", (n) => testInfo.outputPath(n));
  await dialog.getByLabel("Your password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Delete account" }).click();
  await expect(page).toHaveURL(/\/login\?reason=account_deleted$/);
  await expect(page.getByRole("main")).toContainText("Your account was deleted.");
  await expect(other).toHaveURL(/\/login\?reason=account_deleted$/);
  expect((await mailTo(email, /your account was deleted/)).text).toContain("can be used to create a new account");

  await page.goto("/login");
  await fillCredentials(page, email);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("main").getByRole("alert")).toContainText("Invalid email or password");
  await register(page, email);
});
