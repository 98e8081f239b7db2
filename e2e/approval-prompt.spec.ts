import { expect, test } from "@playwright/test";
import { classicURL } from "../playwright.config";
import { approvalPrompt, newEmail, register, requestApproval, waitForServer } from "./helpers";

// Against the PRESET=classic server (new-device approval with a 6-digit code).
test.use({ baseURL: classicURL });
test.beforeAll(({ request }) => waitForServer(request, classicURL));

test("five wrong codes: the prompt says why it closes, the new device shows the failure (not the dead code), the next request starts clean", async ({
  browser,
}, testInfo) => {
  test.setTimeout(60_000);
  const email = newEmail("wrong-codes");
  const a = await browser.newContext();
  const b = await browser.newContext();
  const pageA = await a.newPage();
  const pageB = await b.newPage();
  await register(pageA, email);

  const code = await requestApproval(pageB, email);
  const wrong = code === "000000" ? "111111" : "000000";
  const prompt = approvalPrompt(pageA);
  const field = prompt.getByLabel("Code shown on the new device");
  for (let left = 4; left >= 1; left--) {
    await field.fill(wrong);
    await prompt.getByRole("button", { name: "Approve" }).click();
    await expect(prompt.getByRole("alert")).toHaveText(`Wrong code. ${left} ${left === 1 ? "attempt" : "attempts"} left.`);
  }
  await field.fill(wrong);
  await prompt.getByRole("button", { name: "Approve" }).click();

  // The approving device: the prompt closes and the dashboard says why.
  await expect(prompt).toBeHidden();
  await expect(pageA.getByTestId("notice")).toHaveText(/Too many wrong codes: that sign-in request was cancelled\./);
  await pageA.screenshot({ path: testInfo.outputPath("wrong-codes-approver.png") });

  // The new device: the failure replaces the code.
  await expect(pageB.getByTestId("approval-status")).toHaveText("Too many wrong codes were entered. Sign in again to get a new code.");
  await expect(pageB.getByTestId("approval-code")).toHaveCount(0);
  await expect(pageB.getByTestId("approval-ended")).toBeVisible();
  await expect(pageB.getByText(code, { exact: true })).toHaveCount(0);
  await pageB.screenshot({ path: testInfo.outputPath("wrong-codes-new-device.png") });

  // The next request gets a fresh prompt: no code, no error from the dead one.
  await pageB.getByRole("button", { name: "Back to sign in" }).click();
  const next = await requestApproval(pageB, email);
  await expect(prompt).toBeVisible();
  await expect(field).toHaveValue("");
  await expect(prompt.getByRole("alert")).toHaveCount(0);
  await field.fill(next);
  await prompt.getByRole("button", { name: "Approve" }).click();
  await expect(pageB).toHaveURL(/\/dashboard$/);
  await a.close();
  await b.close();
});
