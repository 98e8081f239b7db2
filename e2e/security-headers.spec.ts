import { expect, test } from "@playwright/test";
import { newEmail, register } from "./helpers";

// Every page: a CSP with a fresh nonce (no inline script runs without it), no framing, the camera
// only on /scan, no Referer from pages whose URL carries a QR token; and the app itself runs
// under that policy without a single violation.

test("pages carry the security headers; token pages send no Referer; the camera is allowed only on /scan", async ({ request }) => {
  const nonces = new Set<string>();
  for (const path of ["/", "/login", "/register", "/scan", "/handoff/AAAAAAAAAAAAAAAAAAAAAA", "/continue/AAAAAAAAAAAAAAAAAAAAAA", "/login"]) {
    const res = await request.get(path, { maxRedirects: 0 });
    const headers = res.headers();
    const csp = headers["content-security-policy"] ?? "";
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce, `${path}: ${csp}`).toBeTruthy();
    nonces.add(nonce!);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-eval'/);
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["referrer-policy"], path).toBe(/^\/(handoff|continue)\//.test(path) ? "no-referrer" : "strict-origin-when-cross-origin");
    expect(headers["permissions-policy"], path).toContain(path === "/scan" ? "camera=(self)" : "camera=()");
    // Served over http here: HSTS only over https.
    expect(headers["strict-transport-security"]).toBeUndefined();
    if (res.status() === 200) {
      // Every script tag of the page carries this response's nonce.
      const html = await res.text();
      const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      expect(scripts.length).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag, path).toContain(`nonce="${nonce}"`);
    }
  }
  expect(nonces.size).toBe(7);
  const api = await request.get("/api/health");
  expect(api.headers()["x-content-type-options"]).toBe("nosniff");
  expect(api.headers()["referrer-policy"]).toBe("no-referrer");
});

test("the app runs under its CSP without a violation (sign-up, dashboard, dialogs, scan page)", async ({ page }) => {
  await page.addInitScript(() => {
    (window as unknown as { cspViolations: string[] }).cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      (window as unknown as { cspViolations: string[] }).cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await register(page, newEmail("csp"));
  await page.getByRole("button", { name: "Add a device" }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await expect(page.getByRole("dialog").locator("svg").first()).toBeVisible();
  violations.push(...(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)));
  await page.goto("/scan");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  violations.push(...(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)));
  expect(violations).toEqual([]);
});

test("another site cannot frame the QR approval page", async ({ page, baseURL }) => {
  await page.route("http://evil.test/", (route) =>
    route.fulfill({ contentType: "text/html", body: `<iframe src="${baseURL}/handoff/AAAAAAAAAAAAAAAAAAAAAA" width="400" height="400"></iframe>` }),
  );
  await page.goto("http://evil.test/");
  // Chromium replaces a frame refused by frame-ancestors with its error page.
  await expect
    .poll(() =>
      page
        .frames()
        .find((f) => f !== page.mainFrame())
        ?.url(),
    )
    .toMatch(/^chrome-error:/);
});
