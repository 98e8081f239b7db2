import http from "node:http";
import { expect, test, type Page } from "@playwright/test";
import { approvalPrompt, fillCredentials, newEmail, register, requestApproval, signInWithApproval } from "./helpers";

// The dashboard's notices last as long as what they are about.

const FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const waitingNotice = (page: Page) => page.getByTestId("approval-notice");

test("a request waiting for approval: Escape leaves a notice with Review, which reopens the prompt; denying removes both", async ({ browser }, testInfo) => {
  const email = newEmail("notice-review");
  const a = await browser.newContext();
  const b = await browser.newContext({ userAgent: FIREFOX_LINUX });
  const pageA = await a.newPage();
  await register(pageA, email);
  await requestApproval(await b.newPage(), email);

  const prompt = approvalPrompt(pageA);
  await expect(prompt).toBeVisible();
  await expect(waitingNotice(pageA)).toContainText("Firefox on Linux (Local network) is waiting for your approval.");
  await pageA.keyboard.press("Escape");
  await expect(prompt).toBeHidden();
  const review = waitingNotice(pageA).getByRole("button", { name: "Review" });
  await expect(review).toBeVisible();
  await expect(waitingNotice(pageA).getByRole("button", { name: "Dismiss" })).toBeVisible();
  await pageA.screenshot({ path: testInfo.outputPath("notice-review.png") });

  await review.click();
  await expect(prompt).toBeVisible();
  await expect(prompt.getByLabel("Code shown on the new device")).toBeFocused();
  await prompt.getByRole("button", { name: "Deny" }).click();
  await expect(prompt).toBeHidden();
  await expect(waitingNotice(pageA)).toHaveCount(0);
  await a.close();
  await b.close();
});

test("a request denied on another signed-in device leaves no notice behind", async ({ browser }) => {
  const email = newEmail("notice-denied");
  const a = await browser.newContext();
  const a2 = await browser.newContext();
  const b = await browser.newContext({ userAgent: FIREFOX_LINUX });
  const pageA = await a.newPage();
  const pageA2 = await a2.newPage();
  await register(pageA, email);
  await signInWithApproval(pageA2, email, pageA);

  await requestApproval(await b.newPage(), email);
  await expect(waitingNotice(pageA)).toBeVisible();
  await pageA.keyboard.press("Escape");
  await approvalPrompt(pageA2).getByRole("button", { name: "Deny" }).click();
  await expect(waitingNotice(pageA)).toHaveCount(0);
  await expect(approvalPrompt(pageA)).toBeHidden();
  await a.close();
  await a2.close();
  await b.close();
});

test("a request that expires leaves no notice and no prompt behind", async ({ browser }) => {
  const email = newEmail("notice-expired");
  const a = await browser.newContext();
  const b = await browser.newContext({ userAgent: FIREFOX_LINUX });
  const pageA = await a.newPage();
  await pageA.clock.install();
  await register(pageA, email);
  await requestApproval(await b.newPage(), email);
  await expect(waitingNotice(pageA)).toBeVisible();
  await expect(approvalPrompt(pageA)).toBeVisible();
  // No event says "expired": the page goes by the request's expiresAt (5 minutes by default).
  await pageA.clock.fastForward("05:05");
  await expect(waitingNotice(pageA)).toHaveCount(0);
  await expect(approvalPrompt(pageA)).toBeHidden();
  await a.close();
  await b.close();
});

test("'New sign-in' goes away when that session is revoked", async ({ browser }, testInfo) => {
  const email = newEmail("notice-revoked");
  const a = await browser.newContext();
  const b = await browser.newContext({ userAgent: FIREFOX_LINUX });
  const pageA = await a.newPage();
  const pageB = await b.newPage();
  await register(pageA, email);
  await signInWithApproval(pageB, email, pageA);
  const signInNotice = pageA.getByTestId("sign-in-notice");
  await expect(signInNotice).toContainText("New sign-in: Firefox on Linux");
  await pageA.screenshot({ path: testInfo.outputPath("notice-new-sign-in.png") });

  const card = pageA.getByTestId("device-card").filter({ hasText: "Firefox on Linux" });
  await card.getByRole("button", { name: /^Revoke session/ }).click();
  await pageA.getByRole("dialog", { name: "Revoke this session?" }).getByRole("button", { name: "Revoke" }).click();
  await expect(pageB).toHaveURL(/\/login\?reason=revoked$/);
  await expect(signInNotice).toHaveCount(0);

  // Signed in again (a known device now): a new notice, gone again when B signs itself out.
  await fillCredentials(pageB, email);
  await pageB.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(pageB).toHaveURL(/\/dashboard$/);
  await expect(signInNotice).toHaveCount(1);
  await pageB.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(pageB).toHaveURL(/\/login/);
  await expect(signInNotice).toHaveCount(0);
  await a.close();
  await b.close();
});

test("a session already holding its limit of live streams: a further dashboard tab says live updates are paused", async ({ browser, baseURL }, testInfo) => {
  const context = await browser.newContext();
  const first = await context.newPage();
  await register(first, newEmail("notice-streams"));
  const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
  // The first tab holds one of the session's LIVE_STREAMS_PER_SESSION (20, the default) streams;
  // an API client with the same cookie holds the other 19.
  const held: http.ClientRequest[] = [];
  for (let i = 0; i < 19; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${baseURL}/api/trpc/sessions.onEvent?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`, { headers: { cookie } }, (res) => {
        res.resume();
        resolve();
      });
      req.on("error", reject);
      held.push(req);
    });
  }
  const second = await context.newPage();
  await second.goto("/dashboard");
  await expect(second.getByText(/Live updates are paused on this page\. This session already has 20 live update streams open/)).toBeVisible();
  await second.screenshot({ path: testInfo.outputPath("notice-streams.png"), fullPage: true });
  await second.setViewportSize({ width: 390, height: 844 }); // a phone
  await expect(second.getByText(/Live updates are paused/)).toBeInViewport();
  await second.screenshot({ path: testInfo.outputPath("notice-streams-phone.png") });
  // The first tab is unaffected: its stream is still one of the 20.
  await expect(first.getByText(/Live updates are paused/)).toHaveCount(0);
  for (const req of held) req.destroy();
  await context.close();
});
