import { expect, test } from "@playwright/test";

// The sign-in page's QR is replaced by a fresh one 10 s before it expires (HANDOFF_TTL_SECONDS,
// 120 s), so a phone never scans a dead code. The page's clock is fast-forwarded; the server's is real.

type StartResponse = { result: { data: { json: { id: string; qrUrl: string; expiresAt: string } } } };
const started = (body: unknown) => (Array.isArray(body) ? (body[0] as StartResponse) : (body as StartResponse)).result.data.json;

test("the sign-in page shows a fresh QR shortly before the old one expires", async ({ page }) => {
  await page.clock.install();
  const first = page.waitForResponse((r) => r.url().includes("handoff.start"));
  await page.goto("/login");
  await page.getByRole("tab", { name: "With your phone" }).click();
  const one = started(await (await first).json());
  const qr = page.getByTestId("handoff-qr");
  await expect(qr).toBeVisible();
  const before = await qr.innerHTML();

  // 100 s later: still the same code.
  await page.clock.fastForward("01:40");
  await expect(qr).toBeVisible();
  expect(await qr.innerHTML()).toBe(before);

  // At 110 s (10 s before the 120 s expiry) the page asks for a new one and shows it.
  const second = page.waitForResponse((r) => r.url().includes("handoff.start"));
  await page.clock.fastForward("00:11");
  const two = started(await (await second).json());
  expect(two.id).not.toBe(one.id);
  expect(two.qrUrl).not.toBe(one.qrUrl);
  await expect.poll(() => qr.innerHTML()).not.toBe(before);
});
