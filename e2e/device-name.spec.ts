import { expect, test } from "@playwright/test";
import { approvalPrompt, newEmail, PASSWORD, register } from "./helpers";

// A token client (a CLI, an app) names its device itself: the owner's prompt must present that
// name as the device's claim, not as a fact, and keep it from reordering the text around it.

test("a name chosen by a token client is quoted and labelled 'named by the app' in the prompt and the notice", async ({ page, request, baseURL }, testInfo) => {
  const email = newEmail("device-name");
  await register(page, email);

  const asked = await request.post(`${baseURL}/api/trpc/tokens.issue`, { data: { json: { email, password: PASSWORD, deviceName: "Release laptop CLI" } } });
  expect(((await asked.json()) as { result: { data: { json: { status: string } } } }).result.data.json.status).toBe("approval_required");

  const prompt = approvalPrompt(page);
  await expect(prompt.getByTestId("approval-device")).toContainText("“Release laptop CLI” · named by the app");
  await page.screenshot({ path: testInfo.outputPath("prompt-named-by-app.png") });
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("approval-notice")).toContainText("“Release laptop CLI” · named by the app (Local network) is waiting for your approval.");
});
