import { expect, test } from "@playwright/test";
import { classicURL } from "../playwright.config";
import { fillCredentials, newEmail, register } from "./helpers";

// Against the PRESET=classic server: one session by default, a second device only with the
// first one's code, a third sign-in refused.
test.use({ baseURL: classicURL });

test.beforeAll(async ({ request }) => {
  for (let i = 0; i < 120; i++) {
    if ((await request.get(`${classicURL}/api/health`).catch(() => null))?.ok()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the classic server at ${classicURL} did not start`);
});

test("new-device approval with a 6-digit code, attempts left on a wrong code, a third device refused", async ({ browser }, testInfo) => {
  test.setTimeout(60_000);
  const email = newEmail("approval");
  const a = await browser.newContext({ baseURL: classicURL });
  const b = await browser.newContext({ baseURL: classicURL, userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" });
  const c = await browser.newContext({ baseURL: classicURL });
  const pageA = await a.newPage();
  const pageB = await b.newPage();
  const pageC = await c.newPage();

  await register(pageA, email);

  // B: the right password is not enough; it shows a code.
  await pageB.goto("/login");
  await fillCredentials(pageB, email);
  await pageB.getByRole("button", { name: "Sign in", exact: true }).click();
  const code = (await pageB.getByTestId("approval-code").textContent())!.trim();
  expect(code).toMatch(/^\d{6}$/);
  await expect(pageB.getByTestId("approval-status")).toContainText("Waiting for approval");
  await pageB.screenshot({ path: testInfo.outputPath("approval-waiting.png"), fullPage: true });

  // A's open dashboard asks by itself.
  const prompt = pageA.getByRole("dialog", { name: "New sign-in to approve" });
  await expect(prompt).toBeVisible();
  await expect(prompt.getByTestId("approval-device")).toContainText("Firefox on Linux");
  await pageA.screenshot({ path: testInfo.outputPath("approval-prompt.png") });
  const wrong = code === "000000" ? "111111" : "000000";
  await prompt.getByLabel("Code shown on the new device").fill(wrong);
  await prompt.getByRole("button", { name: "Approve" }).click();
  await expect(prompt.getByRole("alert")).toHaveText("Wrong code. 4 attempts left.");
  await prompt.getByLabel("Code shown on the new device").fill(code);
  await prompt.getByRole("button", { name: "Approve" }).click();

  await expect(pageB).toHaveURL(/\/dashboard$/);
  await expect(pageB.getByTestId("user-email")).toHaveText(email);
  await expect(prompt).toBeHidden();
  await expect(pageA.getByTestId("device-card")).toHaveCount(2);

  // C: a third sign-in is refused.
  await pageC.goto("/login");
  await fillCredentials(pageC, email);
  await pageC.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(pageC.getByRole("main").getByRole("alert")).toContainText("Already 2 sessions active");
  await expect(pageC).toHaveURL(/\/login/);
  await pageB.screenshot({ path: testInfo.outputPath("approval-b-dashboard.png") });

  await a.close();
  await b.close();
  await c.close();
});

test("a denied request shows a clear message and a way back", async ({ browser }) => {
  const email = newEmail("deny");
  const a = await browser.newContext({ baseURL: classicURL });
  const b = await browser.newContext({ baseURL: classicURL });
  const pageA = await a.newPage();
  const pageB = await b.newPage();
  await register(pageA, email);
  await pageB.goto("/login");
  await fillCredentials(pageB, email);
  await pageB.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(pageB.getByTestId("approval-code")).toBeVisible();
  const prompt = pageA.getByRole("dialog", { name: "New sign-in to approve" });
  await prompt.getByRole("button", { name: "Deny" }).click();
  await expect(pageB.getByTestId("approval-status")).toHaveText("This sign-in was denied on your other device.");
  await pageB.getByRole("button", { name: "Back to sign in" }).click();
  await expect(pageB.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  await a.close();
  await b.close();
});
