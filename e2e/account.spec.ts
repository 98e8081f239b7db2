import { expect, test } from "@playwright/test";
import { fillCredentials, forgetThisDevice, newEmail, PASSWORD, register, signInByQr, signInWithApproval } from "./helpers";

const NEW_PASSWORD = "another long passphrase";

test("change the password from the dashboard: a wrong current one is refused, other devices are signed out", async ({ page, browser }, testInfo) => {
  const email = newEmail("password");
  await register(page, email);
  const other = await (await browser.newContext()).newPage();
  await signInWithApproval(other, email, page);

  const panel = page.getByRole("region", { name: "Password" });
  await panel.getByLabel("Current password").fill("not my password");
  await panel.getByLabel("New password").fill(NEW_PASSWORD);
  await panel.getByRole("button", { name: "Change password" }).click();
  await expect(panel.getByRole("alert")).toHaveText("Wrong password.");

  await panel.getByLabel("Current password").fill(PASSWORD);
  await panel.getByLabel("New password").fill(NEW_PASSWORD);
  await expect(panel.getByRole("checkbox", { name: "Sign out all other devices and apps" })).toBeChecked();
  await panel.getByRole("button", { name: "Change password" }).click();
  await expect(panel.getByRole("status")).toHaveText("Password changed. 1 other session was signed out.");
  await panel.screenshot({ path: testInfo.outputPath("password-changed.png") });
  // The other browser's open dashboard leaves by itself.
  await expect(other).toHaveURL(/\/login\?reason=password_changed/);
  await expect(other.getByRole("main")).toContainText("Your password was changed");

  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  await fillCredentials(page, email, PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("main").getByRole("alert")).toContainText("Invalid email or password");
  await fillCredentials(page, email, NEW_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
});

test("a device signed in by QR asks for the password before forgetting a device (fresh authentication)", async ({ page, browser }, testInfo) => {
  const email = newEmail("reauth");
  await register(page, email);
  // The QR's link opened on another browser (as the camera would), approved here.
  const second = await (await browser.newContext()).newPage();
  await signInByQr(page, second);

  // That session never entered the password: forgetting a device asks for it inline.
  const confirm = await forgetThisDevice(second);
  await confirm.getByLabel("Your password").fill("wrong password");
  await confirm.getByRole("button", { name: "Forget device" }).click();
  await expect(confirm.getByRole("alert")).toHaveText("Wrong password.");
  await second.screenshot({ path: testInfo.outputPath("reauth-prompt.png"), fullPage: true });
  await confirm.getByLabel("Your password").fill(PASSWORD);
  await confirm.getByRole("button", { name: "Forget device" }).click();
  await expect(second).toHaveURL(/\/login/);
});
