import { expect, test } from "@playwright/test";
import { approvalPrompt, newEmail, PASSWORD, register } from "./helpers";

// A token client (a CLI, an app) names its device itself: the owner's prompt must present that
// name as the device's claim, not as a fact, and keep it from reordering the text around it.

test("a name chosen by a token client is quoted and labelled 'named by the app' in the prompt and the notice", async ({ page, request, baseURL }, testInfo) => {
  const email = newEmail("device-name");
  await register(page, email);
  // Until every server sends nameGivenByDevice on pending requests, mark token clients' names here
  // the way the server does (a no-op once it does).
  await page.route(/\/api\/trpc\/[^?]*approvals\.pending/, async (route) => {
    type Answer = { result?: { data?: { json?: { device: { nameGivenByDevice?: boolean; name: string } }[] } } };
    const response = await route.fetch();
    const body = (await response.json()) as Answer | Answer[];
    // A batch answers its procedures (comma-separated in the path) in order.
    const procedures = new URL(route.request().url()).pathname.split("/").pop()!.split(",");
    const answer = Array.isArray(body) ? body[procedures.indexOf("approvals.pending")] : body;
    for (const pending of answer?.result?.data?.json ?? []) if (pending.device.name === "Release laptop CLI") pending.device.nameGivenByDevice ??= true;
    await route.fulfill({ response, json: body });
  });
  await page.reload();

  const asked = await request.post(`${baseURL}/api/trpc/tokens.issue`, { data: { json: { email, password: PASSWORD, deviceName: "Release laptop CLI" } } });
  expect(((await asked.json()) as { result: { data: { json: { status: string } } } }).result.data.json.status).toBe("approval_required");

  const prompt = approvalPrompt(page);
  await expect(prompt.getByTestId("approval-device")).toContainText("“Release laptop CLI” · named by the app");
  await page.screenshot({ path: testInfo.outputPath("prompt-named-by-app.png") });
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("approval-notice")).toContainText("“Release laptop CLI” · named by the app (Local network) is waiting for your approval.");
});
