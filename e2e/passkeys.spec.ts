import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { newEmail, register, signInByQr } from "./helpers";

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

async function sessionMethod(page: Page) {
  const me = (await page.evaluate(async () => (await fetch("/api/trpc/auth.me")).json())) as { result: { data: { json: { session: { method: string } } } } };
  return me.result.data.json.session.method;
}

/** Registers an account and adds a passkey named `name` from the dashboard. */
async function withPasskey(page: Page, label: string, name: string) {
  await register(page, newEmail(label));
  const panel = page.getByTestId("passkeys-panel");
  await expect(panel.getByText("No passkeys yet.")).toBeVisible();
  await panel.getByLabel("Name for a new passkey").fill(name);
  await panel.getByRole("button", { name: "Add a passkey" }).click();
  await expect(panel.getByRole("status")).toContainText(name);
  await expect(panel.getByTestId("passkey")).toHaveCount(1);
  return panel;
}

test("register a passkey, sign in with it through autofill and the button, re-authenticate with it, remove it", async ({
  page,
  context,
  browser,
}, testInfo) => {
  test.setTimeout(90_000);
  const { cdp, authenticatorId } = await addAuthenticator(context, page);
  const panel = await withPasskey(page, "passkey", "Virtual key");
  await expect(panel.getByTestId("passkey-details")).toHaveText("Passkey · never used");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0]!.isResidentCredential).toBe(true);

  // Conditional UI: /login asks for the passkey in the email field's autofill; Chromium's virtual
  // authenticator answers such a request by itself with the one passkey it holds.
  const autofill = page.waitForResponse((r) => r.url().includes("auth.passkeyOptions"));
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await autofill;
  await expect(page).toHaveURL(/\/dashboard$/);
  expect(await sessionMethod(page)).toBe("passkey");
  await page.reload();
  await expect(panel.getByTestId("passkey-details")).toContainText("last used");

  // The button, in another browser without conditional UI (its passkey synced there): the
  // browser's own passkey dialog.
  const otherContext = await browser.newContext();
  await otherContext.addInitScript(() => {
    PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
  });
  const other = await otherContext.newPage();
  const otherAuthenticator = await addAuthenticator(otherContext, other);
  const [current] = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
  await otherAuthenticator.cdp.send("WebAuthn.addCredential", { authenticatorId: otherAuthenticator.authenticatorId, credential: current! });
  await other.goto("/login");
  await expect(other.getByLabel("Email")).toHaveAttribute("autocomplete", "username webauthn");
  await other.screenshot({ path: testInfo.outputPath("login-desktop.png"), fullPage: true });
  await other.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(other).toHaveURL(/\/dashboard$/);
  expect(await sessionMethod(other)).toBe("passkey");
  // The copy with the highest signature counter: an older one would be refused as a clone.
  const [latest] = (await otherAuthenticator.cdp.send("WebAuthn.getCredentials", { authenticatorId: otherAuthenticator.authenticatorId })).credentials;
  await otherContext.close();

  const item = panel.getByTestId("passkey");
  await item.getByRole("button", { name: "Rename passkey Virtual key" }).click();
  await item.getByLabel("Passkey name").fill("Laptop key");
  await item.getByRole("button", { name: "Save" }).click();
  await expect(item).toContainText("Laptop key");
  await page.screenshot({ path: testInfo.outputPath("passkeys-desktop.png"), fullPage: true });

  // A browser signed in by QR code has not authenticated itself: removing asks for fresh
  // authentication, and its copy of the passkey answers it.
  const secondContext = await browser.newContext();
  const second = await secondContext.newPage();
  const synced = await addAuthenticator(secondContext, second);
  await synced.cdp.send("WebAuthn.addCredential", { authenticatorId: synced.authenticatorId, credential: latest! });
  await signInByQr(page, second);

  const secondPanel = second.getByTestId("passkeys-panel");
  await secondPanel.getByRole("button", { name: "Remove passkey Laptop key" }).click();
  const dialog = second.getByRole("dialog", { name: "Remove this passkey?" });
  await dialog.getByRole("button", { name: "Remove passkey" }).click();
  await expect(dialog.getByRole("alert")).toContainText("For your security");
  await second.screenshot({ path: testInfo.outputPath("passkey-reauth-desktop.png"), fullPage: true });
  await dialog.getByRole("button", { name: "Use a passkey instead" }).click();
  await expect(secondPanel.getByText("No passkeys yet.")).toBeVisible();
  // The first dashboard hears of it (live event) and refreshes its list.
  await expect(panel.getByText("No passkeys yet.")).toBeVisible();
  await secondContext.close();
});

test("the passkeys panel and the sign-in page on a phone", async ({ page, context, browser }, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await addAuthenticator(context, page);
  const panel = await withPasskey(page, "passkey-phone", "Phone");
  await panel.scrollIntoViewIfNeeded();
  await panel.screenshot({ path: testInfo.outputPath("passkeys-phone.png") });
  const signedOut = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await signedOut.goto("/login");
  await expect(signedOut.getByRole("button", { name: "Sign in with a passkey" })).toBeVisible();
  await signedOut.screenshot({ path: testInfo.outputPath("login-phone.png"), fullPage: true });
  await signedOut.close();
});
