import type { Page } from "@playwright/test";
import { expect, test } from "./camera";
import { newEmail, register } from "./helpers";

const cards = (page: Page) => page.getByTestId("device-card");

test("flow A: sign in a new device by scanning its QR with the phone's camera", async ({ page: desktop, phone }, testInfo) => {
  test.setTimeout(60_000);
  const email = newEmail("qr-a");
  const phoneContext = await phone.newContext();
  const phonePage = await phoneContext.newPage();
  await register(phonePage, email);

  // The new device (desktop, signed out) shows a QR.
  await desktop.goto("/login");
  await desktop.getByRole("tab", { name: "With your phone" }).click();
  const qr = desktop.getByTestId("handoff-qr");
  await expect(qr).toBeVisible();
  await expect(desktop.getByTestId("phone-sign-in-status")).toContainText("Scan a code");
  await desktop.screenshot({ path: testInfo.outputPath("login-qr.png"), fullPage: true });

  // The phone films it and really decodes it in the browser.
  await phone.pointCameraAt(qr);
  await phonePage.goto("/scan");
  await phonePage.screenshot({ path: testInfo.outputPath("phone-scan.png") });
  await expect(phonePage).toHaveURL(/\/handoff\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, { timeout: 15_000 });
  const requesting = phonePage.getByTestId("requesting-device");
  await expect(requesting).toContainText("Chrome on Windows 10");
  await expect(requesting).toContainText("Local network");
  await expect(desktop.getByTestId("phone-sign-in-status")).toContainText("approve this sign-in there");
  await phonePage.screenshot({ path: testInfo.outputPath("phone-approve.png"), fullPage: true });
  await phonePage.getByRole("button", { name: "Approve sign-in" }).click();
  await expect(phonePage.getByRole("status")).toContainText("Approved");

  // The new device is on its dashboard with its own session.
  await expect(desktop).toHaveURL(/\/dashboard$/, { timeout: 5_000 });
  await expect(desktop.getByTestId("user-email")).toHaveText(email);
  await expect(cards(desktop)).toHaveCount(2);
  await expect(cards(desktop).filter({ hasText: "This device" })).toContainText("Chrome on Windows 10");
  await expect(cards(desktop).filter({ hasText: "Chrome on Android" })).toContainText("Active · 1 session");

  await phonePage.goto("/dashboard");
  await expect(cards(phonePage)).toHaveCount(2);
  await expect(cards(phonePage).filter({ hasText: "This device" })).toContainText("Chrome on Android");
  await expect(cards(phonePage).filter({ hasText: "Chrome on Windows 10" })).toContainText("Active · 1 session");
  // Separate sessions: the QR sign-in is listed with its method in the history.
  await expect(phonePage.getByTestId("history-row").first()).toContainText("qr");
  await phoneContext.close();
});

test("flow B: continue on another device by scanning the dashboard's QR", async ({ page: desktop, phone }, testInfo) => {
  test.setTimeout(60_000);
  const email = newEmail("qr-b");
  await register(desktop, email);
  await desktop.getByRole("button", { name: "Add a device" }).click();
  const dialog = desktop.getByRole("dialog", { name: "Add a device" });
  const qr = dialog.getByTestId("handoff-qr");
  await expect(qr).toBeVisible();

  const phoneContext = await phone.newContext();
  const phonePage = await phoneContext.newPage();
  await phone.pointCameraAt(qr);
  await phonePage.goto("/scan");
  await expect(phonePage).toHaveURL(/\/continue\//, { timeout: 15_000 });
  await expect(phonePage.getByTestId("claim-status")).toContainText("Waiting for approval on your other device");
  await phonePage.screenshot({ path: testInfo.outputPath("phone-continue-waiting.png"), fullPage: true });

  // The offering device sees who scanned it and approves.
  const claimant = dialog.getByTestId("claiming-device");
  await expect(claimant).toContainText("Chrome on Android");
  await expect(claimant).toContainText("Local network");
  await desktop.screenshot({ path: testInfo.outputPath("offer-approve.png"), fullPage: true });
  await dialog.getByRole("button", { name: "Approve" }).click();

  await expect(phonePage).toHaveURL(/\/dashboard$/, { timeout: 5_000 });
  await expect(phonePage.getByTestId("user-email")).toHaveText(email);
  await expect(dialog.getByTestId("offer-status")).toHaveText("Done: the other device is signed in.");
  await dialog.getByRole("button", { name: "Done" }).click();

  await expect(cards(desktop)).toHaveCount(2);
  await expect(cards(desktop).filter({ hasText: "Chrome on Android" })).toContainText("Active · 1 session");
  await expect(cards(phonePage)).toHaveCount(2);
  await expect(cards(phonePage).filter({ hasText: "This device" })).toContainText("Chrome on Android");
  await phoneContext.close();
});
