import { expect, test, type Page } from "@playwright/test";
import { newEmail, PASSWORD, register } from "./helpers";

const passwordField = (page: Page) => page.getByRole("textbox", { name: "Password", exact: true });

test("sign-in: Tab goes Email → Password → Show; Enter in the password field submits and never reveals it", async ({ page }) => {
  const email = newEmail("keys");
  await register(page, email);
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login/);

  await page.getByLabel("Email").focus();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await expect(passwordField(page)).toBeFocused();
  await page.keyboard.type("not my password");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("main").getByRole("alert")).toHaveText("Invalid email or password");
  await expect(passwordField(page)).toHaveAttribute("type", "password");

  // Show comes after the field; it reveals on purpose only.
  await passwordField(page).focus();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Show password" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(passwordField(page)).toHaveAttribute("type", "text");
  await page.keyboard.press("Enter");
  await expect(passwordField(page)).toHaveAttribute("type", "password");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeFocused();

  await passwordField(page).fill(PASSWORD);
  await passwordField(page).press("Enter");
  await expect(page).toHaveURL(/\/dashboard$/);
});

test("register: Tab from Email lands on the password field and Enter there creates the account", async ({ page }) => {
  await page.goto("/register");
  await page.getByLabel("Email").fill(newEmail("keys-reg"));
  await page.getByLabel("Email").press("Tab");
  await expect(passwordField(page)).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/dashboard$/);
});

test("the Password / With your phone tabs follow the WAI-ARIA tabs pattern", async ({ page }) => {
  await page.goto("/login");
  const tabs = page.getByRole("tab");
  const passwordTab = page.getByRole("tab", { name: "Password" });
  const phoneTab = page.getByRole("tab", { name: "With your phone" });
  await expect(tabs).toHaveCount(2);

  // Every tab names an existing panel, and each panel names its tab.
  for (const tab of await tabs.all()) {
    const panel = page.locator(`[id="${await tab.getAttribute("aria-controls")}"]`);
    await expect(panel).toHaveAttribute("role", "tabpanel");
    await expect(panel).toHaveAttribute("aria-labelledby", (await tab.getAttribute("id"))!);
  }

  // Only the selected tab is in the tab order: Tab from it goes into the panel.
  await expect(passwordTab).toHaveAttribute("tabindex", "0");
  await expect(phoneTab).toHaveAttribute("tabindex", "-1");
  await page.getByRole("link", { name: "Handoff" }).focus();
  await page.keyboard.press("Tab");
  await expect(passwordTab).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Email")).toBeFocused();

  const expectSelected = async (tab: typeof passwordTab) => {
    await expect(tab).toBeFocused();
    await expect(tab).toHaveAttribute("aria-selected", "true");
    await expect(tab).toHaveAttribute("tabindex", "0");
    await expect(page.getByRole("tabpanel")).toHaveAttribute("aria-labelledby", (await tab.getAttribute("id"))!);
  };

  await passwordTab.focus();
  await page.keyboard.press("ArrowRight");
  await expectSelected(phoneTab);
  await expect(passwordTab).toHaveAttribute("tabindex", "-1");
  await expect(page.getByRole("tabpanel").getByTestId("phone-sign-in")).toBeVisible();
  await page.keyboard.press("ArrowRight");
  await expectSelected(passwordTab);
  await page.keyboard.press("ArrowLeft");
  await expectSelected(phoneTab);
  await page.keyboard.press("Home");
  await expectSelected(passwordTab);
  await page.keyboard.press("End");
  await expectSelected(phoneTab);
  // Tab from the selected tab reaches its panel, not the other tab.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("tabpanel")).toBeFocused();
});
