import { expect, test, type Browser, type Page } from "@playwright/test";
import { newEmail, PASSWORD, register, signIn, signInWithApproval } from "./helpers";

const FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

async function newDevice(browser: Browser, userAgent?: string) {
  const context = await browser.newContext(userAgent ? { userAgent } : {});
  return { context, page: await context.newPage() };
}

const deviceCards = (page: Page) => page.getByTestId("device-card");

test("two devices: see each other live, revoke one, sign back in, emergency lockout, history", async ({ browser }, testInfo) => {
  test.setTimeout(90_000);
  const email = newEmail("devices");
  const a = await newDevice(browser);
  const b = await newDevice(browser, FIREFOX_LINUX);

  await register(a.page, email);
  await expect(deviceCards(a.page)).toHaveCount(1);

  // B signs in (a new device: A approves it with the code B shows); A's open dashboard shows it without a reload.
  await signInWithApproval(b.page, email, a.page);
  await expect(a.page.getByRole("status")).toContainText("New sign-in: Firefox on Linux");
  await expect(deviceCards(a.page)).toHaveCount(2);
  const bCardOnA = deviceCards(a.page).filter({ hasText: "Firefox on Linux" });
  await expect(bCardOnA).toContainText("Active · 1 session");
  await expect(bCardOnA).toContainText("Local network");
  await expect(deviceCards(b.page)).toHaveCount(2);
  await a.page.screenshot({ path: testInfo.outputPath("dashboard-two-devices.png"), fullPage: true });

  // A revokes B (with confirmation); B's open page leaves for /login by itself.
  await bCardOnA.getByRole("button", { name: /^Revoke session/ }).click();
  const dialog = a.page.getByRole("dialog", { name: "Revoke this session?" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Revoke" }).click();
  await expect(b.page).toHaveURL(/\/login\?reason=revoked$/, { timeout: 2_000 });
  await expect(b.page.getByRole("status")).toHaveText("This session was ended from another device.");
  await expect(bCardOnA).toContainText("Inactive");

  // B signs in again: the same browser is the same device.
  await signIn(b.page, email);
  await expect(deviceCards(a.page)).toHaveCount(2);
  await expect(deviceCards(a.page).filter({ hasText: "Firefox on Linux" })).toContainText("Active · 1 session");

  // Emergency lockout from A: a wrong password changes nothing, the right one ends both.
  await a.page.getByRole("button", { name: "Sign out everywhere…" }).click();
  const lockout = a.page.getByRole("dialog", { name: "Sign out everywhere?" });
  await lockout.getByLabel("Password", { exact: true }).fill("not my password");
  await lockout.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(lockout.getByRole("alert")).toHaveText("Wrong password. Nothing was changed.");
  await lockout.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await lockout.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(a.page).toHaveURL(/\/login\?reason=locked_out$/);
  await expect(b.page).toHaveURL(/\/login\?reason=locked_out$/, { timeout: 2_000 });
  await expect(b.page.getByRole("status")).toContainText("Emergency lockout");

  // History shows all of it.
  await b.page.getByRole("textbox", { name: "Password", exact: true }).fill("wrong one");
  await b.page.getByLabel("Email").fill(email);
  await b.page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(b.page.getByRole("main").getByRole("alert")).toHaveText("Invalid email or password");
  await signIn(a.page, email);
  // A's sign-in, B's wrong password, B's return (a known device: no approval), B's approved
  // sign-in, B's attempt held for approval, A's registration.
  const rows = a.page.getByTestId("history-row");
  await expect(rows).toHaveCount(6);
  await expect(rows.nth(0)).toHaveAttribute("data-outcome", "success");
  await expect(rows.nth(1)).toHaveAttribute("data-outcome", "failure");
  await expect(rows.nth(1)).toContainText("wrong password");
  await expect(rows.nth(1)).toContainText("Firefox on Linux");
  await expect(rows.nth(3)).toContainText("approval");
  await expect(rows.nth(4)).toHaveAttribute("data-outcome", "blocked");
  await expect(rows.nth(4)).toContainText("approval required");
  await a.page.screenshot({ path: testInfo.outputPath("dashboard-history.png"), fullPage: true });

  await a.context.close();
  await b.context.close();
});

test("sign out all other devices, rename and forget a device", async ({ browser }) => {
  test.setTimeout(60_000);
  const email = newEmail("devices");
  const a = await newDevice(browser);
  const b = await newDevice(browser, FIREFOX_LINUX);
  await register(a.page, email);
  await signInWithApproval(b.page, email, a.page);
  await expect(deviceCards(a.page)).toHaveCount(2);

  const bCard = deviceCards(a.page).filter({ hasText: "Firefox on Linux" });
  await bCard.getByRole("button", { name: "Rename" }).click();
  await bCard.getByLabel("Device name").fill("Work laptop");
  await bCard.getByRole("button", { name: "Save" }).click();
  await expect(deviceCards(a.page).filter({ hasText: "Work laptop" })).toHaveCount(1);
  // B sees the new name live too.
  await expect(deviceCards(b.page).filter({ hasText: "Work laptop" })).toHaveCount(1);

  await a.page.getByRole("button", { name: "Sign out all other devices" }).click();
  await a.page.getByRole("dialog", { name: "Sign out all other devices?" }).getByRole("button", { name: "Sign out others" }).click();
  await expect(a.page.getByRole("status")).toHaveText(/Signed out 1 other session/);
  await expect(b.page).toHaveURL(/\/login\?reason=revoked$/, { timeout: 2_000 });

  const workLaptop = deviceCards(a.page).filter({ hasText: "Work laptop" });
  await workLaptop.getByRole("button", { name: "Forget device" }).click();
  await a.page.getByRole("dialog", { name: "Forget Work laptop?" }).getByRole("button", { name: "Forget device" }).click();
  await expect(deviceCards(a.page)).toHaveCount(1);

  // Its next sign-in is a new device with the default name, so it needs approval again.
  await signInWithApproval(b.page, email, a.page);
  await expect(deviceCards(a.page).filter({ hasText: "Firefox on Linux" })).toHaveCount(1);
  await expect(deviceCards(a.page).filter({ hasText: "Work laptop" })).toHaveCount(0);
  await a.context.close();
  await b.context.close();
});
