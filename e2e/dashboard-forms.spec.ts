import { expect, test, type Page, type Request } from "@playwright/test";
import { newEmail, PASSWORD, register } from "./helpers";

const NEW_PASSWORD = "another long passphrase";

/** The JSON input of a tRPC mutation request (batched or not). */
function inputOf(request: Request): Record<string, unknown> {
  const body = request.postDataJSON() as { json?: Record<string, unknown> } | Record<string, { json?: Record<string, unknown> }>;
  return ("json" in body ? body.json : (body as Record<string, { json?: Record<string, unknown> }>)["0"]?.json) ?? {};
}

const lockoutRequest = (page: Page) => page.waitForRequest((r) => r.url().includes("/api/trpc/sessions.lockout") && r.method() === "POST");

test("emergency lockout offers to set a new password in the same step, and sends it only when asked", async ({ page }, testInfo) => {
  await register(page, newEmail("lockout-password"));
  await page.getByRole("button", { name: "Sign out everywhere…" }).click();
  const dialog = page.getByRole("dialog", { name: "Sign out everywhere?" });
  const also = dialog.getByRole("checkbox", { name: "Also set a new password" });
  await expect(also).not.toBeChecked();
  await expect(dialog.getByLabel("New password", { exact: true })).toHaveCount(0);

  // Without it: only the password.
  await dialog.getByLabel("Password", { exact: true }).fill("not my password");
  const [plain] = await Promise.all([lockoutRequest(page), dialog.getByRole("button", { name: "Sign out everywhere" }).click()]);
  expect(inputOf(plain)).toEqual({ password: "not my password" });
  await expect(dialog.getByRole("alert")).toBeVisible();

  await also.check();
  await dialog.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await dialog.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.screenshot({ path: testInfo.outputPath("lockout-new-password.png") });
  const [withNew] = await Promise.all([lockoutRequest(page), dialog.getByRole("button", { name: "Sign out everywhere" }).click()]);
  expect(inputOf(withNew)).toEqual({ password: PASSWORD, newPassword: NEW_PASSWORD });
  await expect(page).toHaveURL(/\/login\?reason=locked_out_password_changed$/);
  await expect(page.getByText("your password was changed. Sign in with the new password.")).toBeVisible();
});

test("the change-password form drops an earlier answer once the input changes", async ({ page }) => {
  await register(page, newEmail("password-stale"));
  const panel = page.getByRole("region", { name: "Password" });
  await panel.getByLabel("Current password").fill(PASSWORD);
  await panel.getByLabel("New password").fill(PASSWORD);
  await panel.getByRole("button", { name: "Change password" }).click();
  await expect(panel.getByRole("alert")).toHaveText("The new password must differ from the current one.");

  // Too short: the browser's own check stops the submit; the old "must differ" must not stay beside it.
  await panel.getByLabel("New password").fill("short");
  await panel.getByRole("button", { name: "Change password" }).click();
  await expect(panel.getByLabel("New password")).toHaveJSProperty("validity.valid", false);
  await expect(panel.getByRole("alert")).toHaveCount(0);

  // Four emoji: 8 UTF-16 units pass the browser, the server counts 4 characters: its message, alone.
  await panel.getByLabel("New password").fill("🔑🔑🔑🔑");
  await panel.getByRole("button", { name: "Change password" }).click();
  await expect(panel.getByText("Password must be at least 8 characters")).toBeVisible();
  await expect(panel.getByText("must differ")).toHaveCount(0);
});
