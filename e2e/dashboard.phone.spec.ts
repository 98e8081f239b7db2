import { expect, test } from "@playwright/test";
import { newEmail, register } from "./helpers";

test("the control center on a phone-sized screen", async ({ page }, testInfo) => {
  await register(page, newEmail("phone"));
  await expect(page.getByTestId("device-card")).toHaveCount(1);
  await expect(page.getByTestId("history-row")).toHaveCount(1);
  // Nothing overflows the viewport horizontally except the history table's own scroller.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: testInfo.outputPath("dashboard-phone.png"), fullPage: true });
});
