import { expect, test } from "@playwright/test";
import { fillCredentials, newEmail, register } from "./helpers";

const UNREACHABLE = "Can't reach Handoff. Check your connection and try again.";

test("offline: a sign-in says the server cannot be reached (not 'Failed to fetch') and the notice goes once back online", async ({ page, context }) => {
  await page.goto("/login");
  await fillCredentials(page, newEmail("offline"));
  await context.setOffline(true);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();

  await expect(page.getByRole("main").getByRole("alert")).toHaveText(UNREACHABLE);
  const notice = page.getByTestId("offline-notice");
  await expect(notice).toContainText("Can't reach Handoff — retrying…");
  await expect(page.getByText("Failed to fetch")).toHaveCount(0);
  // The notice sits in a polite live region, so screen readers hear it without losing focus.
  await expect(page.locator("[aria-live=polite]").filter({ has: notice })).toHaveCount(1);
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();

  await context.setOffline(false);
  await expect(notice).toBeHidden();
});

test("server unreachable while the browser is online: the dashboard shows the notice, retries, and recovers by itself", async ({ page }) => {
  await register(page, newEmail("unreachable"));
  // The server stops answering (connection refused) for every call and the health probe.
  await page.route(/\/api\/(trpc|health)/, (route) => route.abort("connectionrefused"));
  await page.getByRole("button", { name: "Rename" }).first().click();
  await page.getByLabel("Device name").fill("Offline test");
  await page.getByRole("button", { name: "Save" }).click();

  const notice = page.getByTestId("offline-notice");
  await expect(notice).toContainText("Can't reach Handoff — retrying…");
  await expect(page.getByText(UNREACHABLE).first()).toBeVisible();
  await expect(page.getByText("Failed to fetch")).toHaveCount(0);

  // Back: the next probe finds the server and the notice goes away without a reload.
  await page.unroute(/\/api\/(trpc|health)/);
  await expect(notice).toBeHidden({ timeout: 20_000 });
});

test("unknown pages get a styled 404 inside the app's layout with a way home", async ({ page }) => {
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page).toHaveTitle(/Page not found · Handoff/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
  await expect(page.getByRole("banner").getByRole("link", { name: "Handoff" })).toBeVisible();
  await page.getByRole("link", { name: "Go to Handoff" }).click();
  await expect(page).toHaveURL(/\/login$/);
});
