import { expect, test } from "@playwright/test";
import { newEmail, register } from "./helpers";

test("sign-in history on a phone: every column readable without sideways scrolling", async ({ page }, testInfo) => {
  await register(page, newEmail("history-phone"));
  const row = page.getByTestId("history-row").first();
  await expect(row).toBeVisible();
  const scroller = page.getByTestId("history-scroller");
  // Nothing hidden to the side: each cell of the row is within the screen.
  expect(await scroller.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);
  const width = page.viewportSize()!.width;
  for (const cell of await row.getByRole("cell").all()) {
    const box = (await cell.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(width);
  }
  // Each stacked cell is named by its column (shown before it).
  const labels = await row.getByRole("cell").evaluateAll((cells) => cells.map((c) => getComputedStyle(c, "::before").content));
  expect(labels.slice(1).join(" ")).toMatch(/Method.*Device.*IP and place.*When/);
  await row.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath("history-phone.png") });
});

test("sign-in history just too narrow for its table: the scroller says so and takes the keyboard", async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 660, height: 900 });
  await register(page, newEmail("history-narrow"));
  await expect(page.getByTestId("history-row").first()).toBeVisible();
  const scroller = page.getByRole("region", { name: "Sign-in history table, scrolls sideways" });
  await expect(scroller).toBeVisible();
  await expect(page.getByTestId("history-scroll-hint")).toBeVisible();
  await scroller.focus();
  await expect(scroller).toBeFocused();
  await page.keyboard.press("ArrowRight");
  await expect.poll(() => scroller.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
  await scroller.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath("history-narrow.png") });
});
