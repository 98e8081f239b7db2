import { expect, type APIRequestContext, type Browser, type BrowserContext, type Page } from "@playwright/test";

export const PASSWORD = "correct horse battery staple";

export const newEmail = (label: string) => `${label}-${Date.now()}-${Math.random().toString(36).slice(2, 7)}@example.com`;

export async function fillCredentials(page: Page, email: string, password = PASSWORD) {
  await page.getByLabel("Email").fill(email);
  await page.getByRole("textbox", { name: "Password", exact: true }).fill(password);
}

/** Creates an account from /register and waits for the dashboard. */
export async function register(page: Page, email: string) {
  await page.goto("/register");
  await fillCredentials(page, email);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

/** Signs in from /login and waits for the dashboard. */
export async function signIn(page: Page, email: string) {
  await page.goto("/login");
  await fillCredentials(page, email);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

/**
 * Signs in a new device while the account is signed in on `approver`: the new device shows a
 * code, the approver's open dashboard asks for it by itself, and the new device lands on its dashboard.
 */
export async function signInWithApproval(page: Page, email: string, approver: Page) {
  await page.goto("/login");
  await fillCredentials(page, email);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const code = (await page.getByTestId("approval-code").textContent())!.trim();
  const prompt = approver.getByRole("dialog", { name: "New sign-in to approve" });
  await prompt.getByLabel("Code shown on the new device").fill(code);
  await prompt.getByRole("button", { name: "Approve" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

/** Asks to sign in from a new device (the password is right, approval is needed) and returns the code it shows. */
export async function requestApproval(page: Page, email: string) {
  await page.goto("/login");
  await fillCredentials(page, email);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  return (await page.getByTestId("approval-code").textContent())!.trim();
}

/** The dashboard's "New sign-in to approve" prompt. */
export const approvalPrompt = (page: Page) => page.getByRole("dialog", { name: "New sign-in to approve" });

/** Waits until a server at `url` answers its health check (the classic server starts beside the default one). */
export async function waitForServer(request: APIRequestContext, url: string) {
  for (let i = 0; i < 120; i++) {
    if ((await request.get(`${url}/api/health`).catch(() => null))?.ok()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the server at ${url} did not start`);
}

/**
 * Another browser that this account already knows (it carries `from`'s device cookie, not its
 * session): it signs in with the password alone, as one more session of the same device.
 */
export async function sameDeviceBrowser(browser: Browser, from: BrowserContext) {
  const context = await browser.newContext();
  await context.addCookies((await from.cookies()).filter((c) => c.name.endsWith("handoff_device")));
  return context;
}

/**
 * The dashboard on `page` offers a QR code ("Add a device"), `second` opens its link (as the phone's
 * camera would) and `page` approves: `second` is signed in without having entered a password.
 */
export async function signInByQr(page: Page, second: Page) {
  const offered = page.waitForResponse((r) => r.url().includes("handoff.offer"));
  await page.getByRole("button", { name: "Add a device" }).click();
  const body = (await (await offered).json()) as { result: { data: { json: { qrUrl: string } } } }[] | { result: { data: { json: { qrUrl: string } } } };
  const qrUrl = (Array.isArray(body) ? body[0]! : body).result.data.json.qrUrl;
  await second.goto(new URL(qrUrl).pathname);
  const offer = page.getByRole("dialog", { name: "Add a device" });
  await offer.getByRole("button", { name: "Approve" }).click();
  await expect(second).toHaveURL(/\/dashboard$/);
  await offer.getByRole("button", { name: "Done" }).click();
}

/** "Forget device" on this browser's own device card, confirmed: the dialog, which asks for fresh authentication when the session needs it. */
export async function forgetThisDevice(page: Page) {
  const card = page.getByTestId("device-card").filter({ hasText: "This device" });
  await card.getByRole("button", { name: "Forget device" }).click();
  const confirm = page.getByRole("dialog");
  await confirm.getByRole("button", { name: "Forget device" }).click();
  await expect(confirm.getByRole("alert")).toHaveText("For your security, enter your password again to do this.");
  return confirm;
}
