import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { newEmail, register } from "./helpers";

// Passkeys in Chromium with a virtual authenticator (CDP WebAuthn domain): a platform authenticator
// with resident keys and user verification, as a phone or laptop with a screen lock has.

async function addAuthenticator(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return { cdp, authenticatorId };
}

async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
}

test("register a passkey, sign in with it through autofill and the button, re-authenticate with it, remove it", async ({
  page,
  context,
  browser,
}, testInfo) => {
  const { cdp, authenticatorId } = await addAuthenticator(context, page);
  const email = newEmail("passkey");
  await register(page, email);

  const panel = page.getByTestId("passkeys-panel");
  await panel.getByLabel("Name for a new passkey").fill("Virtual key");
  await panel.getByRole("button", { name: "Add a passkey" }).click();
  await expect(panel.getByRole("status")).toContainText("Virtual key");
  await expect(panel.getByTestId("passkey")).toHaveCount(1);
  await expect(panel.getByTestId("passkey-details")).toHaveText("Passkey · never used");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0]!.isResidentCredential).toBe(true);

  // Conditional UI: the email field offers the passkey; Chromium's virtual authenticator picks it.
  await signOut(page);
  await expect(page.getByLabel("Email")).toHaveAttribute("autocomplete", "username webauthn");
  await page.getByLabel("Email").click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("passkey-details")).toContainText("last used");

  // The button: the browser's own passkey dialog.
  await signOut(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  const me = await page.evaluate(async () => (await fetch("/api/trpc/auth.me")).json());
  expect(JSON.stringify(me)).toContain('"method":"passkey"');

  const item = panel.getByTestId("passkey");
  await item.getByRole("button", { name: "Rename passkey Virtual key" }).click();
  await item.getByLabel("Passkey name").fill("Laptop key");
  await item.getByRole("button", { name: "Save" }).click();
  await expect(item).toContainText("Laptop key");
  await page.screenshot({ path: testInfo.outputPath("passkeys-desktop.png"), fullPage: true });

  // A second browser signed in by QR code (no password entered there: removing asks for fresh
  // authentication), holding the same passkey, as a synced passkey would be.
  const offered = page.waitForResponse((r) => r.url().includes("handoff.offer"));
  await page.getByRole("button", { name: "Add a device" }).click();
  const body = (await (await offered).json()) as { result: { data: { json: { qrUrl: string } } } }[] | { result: { data: { json: { qrUrl: string } } } };
  const qrUrl = (Array.isArray(body) ? body[0]! : body).result.data.json.qrUrl;
  const secondContext = await browser.newContext();
  const second = await secondContext.newPage();
  const synced = await addAuthenticator(secondContext, second);
  const { credentials: held } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  await synced.cdp.send("WebAuthn.addCredential", { authenticatorId: synced.authenticatorId, credential: held[0]! });
  await second.goto(new URL(qrUrl).pathname);
  const offer = page.getByRole("dialog", { name: "Add a device" });
  await offer.getByRole("button", { name: "Approve" }).click();
  await expect(second).toHaveURL(/\/dashboard$/);
  await offer.getByRole("button", { name: "Done" }).click();

  const secondPanel = second.getByTestId("passkeys-panel");
  await secondPanel.getByRole("button", { name: "Remove passkey Laptop key" }).click();
  const dialog = second.getByRole("dialog", { name: "Remove this passkey?" });
  await dialog.getByRole("button", { name: "Remove passkey" }).click();
  await expect(dialog.getByRole("alert")).toContainText("For your security");
  await dialog.getByRole("button", { name: "Use a passkey instead" }).click();
  await expect(secondPanel.getByText("No passkeys yet.")).toBeVisible();
  // The first dashboard hears of it (live event) and refreshes its list.
  await expect(panel.getByText("No passkeys yet.")).toBeVisible();
  await secondContext.close();
});

test("the passkeys panel on a phone", async ({ page, context }, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await addAuthenticator(context, page);
  await register(page, newEmail("passkey-phone"));
  const panel = page.getByTestId("passkeys-panel");
  await panel.getByLabel("Name for a new passkey").fill("Phone");
  await panel.getByRole("button", { name: "Add a passkey" }).click();
  await expect(panel.getByTestId("passkey")).toHaveCount(1);
  await panel.scrollIntoViewIfNeeded();
  await panel.screenshot({ path: testInfo.outputPath("passkeys-phone.png") });
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.screenshot({ path: testInfo.outputPath("login-phone.png"), fullPage: true });
});
