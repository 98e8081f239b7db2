import { expect, test } from "@playwright/test";

const PASSWORD = "correct horse battery staple";
const newEmail = () => `phone-${Date.now()}-${Math.random().toString(36).slice(2, 7)}@example.com`;

test("the control center on a phone-sized screen", async ({ page }, testInfo) => {
  await page.goto("/register");
  await page.getByLabel("Email").fill(newEmail());
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("device-card")).toHaveCount(1);
  await expect(page.getByTestId("history-row")).toHaveCount(1);
  // Nothing overflows the viewport horizontally except the history table's own scroller.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: testInfo.outputPath("dashboard-phone.png"), fullPage: true });
});
