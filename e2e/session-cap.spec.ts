import { expect, test, type Page } from "@playwright/test";
import { approvalPrompt, newEmail, register, requestApproval, sameDeviceBrowser, signIn, signInWithApproval } from "./helpers";

// The default server: at most 5 sessions, evict-oldest. The dashboard shows the cap, and every way
// of approving a new device says first which device it will sign out.

const FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
const capText = (page: Page) => page.getByTestId("session-cap");

/** The tRPC result of the first `procedure` response the page receives while `action` runs. */
async function resultOf<T>(page: Page, procedure: string, action: () => Promise<unknown>): Promise<T> {
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes(`/api/trpc/${procedure}`) && r.request().method() === "POST"), action()]);
  const body = (await response.json()) as { result: { data: { json: T } } } | [{ result: { data: { json: T } } }];
  return (Array.isArray(body) ? body[0] : body).result.data.json;
}

test("the cap on the dashboard, and 'will sign out' before approving a new device at the cap (code, QR scanned by the phone, QR offered)", async ({
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  const email = newEmail("cap");
  const a = await browser.newContext();
  const pageA = await a.newPage();
  await register(pageA, email);
  await expect(capText(pageA)).toHaveText("1 of 5 sessions. At the limit, a new sign-in signs out the least recently used session.");

  // Firefox on Linux signs in, then stays idle: the least recently used session from now on.
  const b = await browser.newContext({ userAgent: FIREFOX_LINUX });
  await signInWithApproval(await b.newPage(), email, pageA);
  await b.close();
  // Three more sessions of A's own device, up to the cap.
  for (let i = 0; i < 3; i++) {
    const more = await sameDeviceBrowser(browser, a);
    await signIn(await more.newPage(), email);
    await more.close();
  }
  await expect(capText(pageA)).toContainText("5 of 5 sessions. The limit is reached: a new sign-in will sign out Firefox on Linux");
  await pageA.screenshot({ path: testInfo.outputPath("cap-dashboard.png"), fullPage: true });

  // A new device asks with a code: the prompt says who goes before anything is approved.
  const c = await browser.newContext({ userAgent: SAFARI_MAC });
  const pageC = await c.newPage();
  await requestApproval(pageC, email);
  const prompt = approvalPrompt(pageA);
  await expect(prompt.getByTestId("would-sign-out")).toContainText("You are at your limit of 5 sessions: approving will sign out Firefox on Linux");
  await pageA.screenshot({ path: testInfo.outputPath("cap-approval-prompt.png") });
  await prompt.getByRole("button", { name: "Deny" }).click();
  await expect(prompt).toBeHidden();

  // Flow A: the new device shows a QR, the signed-in device opens it.
  await pageC.goto("/login");
  const started = await resultOf<{ qrUrl: string }>(pageC, "handoff.start", () => pageC.getByRole("tab", { name: "With your phone" }).click());
  await pageA.goto(new URL(started.qrUrl).pathname);
  await expect(pageA.getByTestId("requesting-device")).toContainText("Safari on macOS");
  await expect(pageA.getByTestId("approve-request").getByTestId("would-sign-out")).toContainText("approving will sign out Firefox on Linux");
  await pageA.screenshot({ path: testInfo.outputPath("cap-handoff-approve.png"), fullPage: true });
  await pageA.getByRole("button", { name: "Deny" }).click();

  // Flow B: the signed-in device offers a QR, another device opens it.
  await pageA.goto("/dashboard");
  const offered = await resultOf<{ qrUrl: string }>(pageA, "handoff.offer", () => pageA.getByRole("button", { name: "Add a device" }).click());
  const dialog = pageA.getByRole("dialog", { name: "Add a device" });
  const d = await browser.newContext({ userAgent: SAFARI_MAC });
  await (await d.newPage()).goto(new URL(offered.qrUrl).pathname);
  await expect(dialog.getByTestId("claiming-device")).toContainText("Safari on macOS");
  await expect(dialog.getByTestId("would-sign-out")).toContainText("approving will sign out Firefox on Linux");
  await dialog.getByRole("button", { name: "Deny" }).click();

  await a.close();
  await c.close();
  await d.close();
});
