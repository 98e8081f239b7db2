import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { fillCredentials, newEmail, PASSWORD, register } from "./helpers";

/** Every URL the page requested or navigated to (a GET form would put the password in one). */
function recordUrls(page: Page) {
  const urls: string[] = [];
  page.on("request", (request) => urls.push(request.url()));
  page.on("framenavigated", (frame) => urls.push(frame.url()));
  return urls;
}

const expectNoCredentialsIn = (urls: string[], email: string) => {
  expect(urls.length).toBeGreaterThan(0);
  for (const url of urls) {
    expect(url).not.toContain("password=");
    expect(url).not.toContain(encodeURIComponent(PASSWORD));
    expect(url).not.toContain(encodeURIComponent(email));
  }
};

async function withoutJavaScript(browser: Browser, run: (page: Page, context: BrowserContext) => Promise<void>) {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    await run(await context.newPage(), context);
  } finally {
    await context.close();
  }
}

test.describe("without JavaScript", () => {
  test("register and sign in post the form: credentials never appear in a URL", async ({ browser }) => {
    const email = newEmail("nojs");
    await withoutJavaScript(browser, async (page, context) => {
      const urls = recordUrls(page);
      await page.goto("/register");
      await fillCredentials(page, email);
      await page.getByRole("button", { name: "Create account" }).click();
      await expect(page).toHaveURL(/\/dashboard$/);
      await expect(page.getByTestId("user-email")).toHaveText(email);

      // A wrong password comes back to /login with a short code the page explains.
      await context.clearCookies({ name: "handoff_session" });
      await page.goto("/login");
      await fillCredentials(page, email, "not my password");
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page).toHaveURL(/\/login\?error=invalid$/);
      await expect(page.getByRole("main").getByRole("alert")).toHaveText("Invalid email or password");

      // The same browser (its device cookie kept) signs in with the right one.
      await fillCredentials(page, email);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page).toHaveURL(/\/dashboard$/);
      await expect(page.getByTestId("user-email")).toHaveText(email);
      expect(urls.some((url) => url.includes("/api/form/login"))).toBe(true);
      expectNoCredentialsIn(urls, email);
    });
  });

  test("a new device that needs approval is told that this step needs JavaScript", async ({ browser, page }) => {
    const email = newEmail("nojs-approval");
    await register(page, email);
    await withoutJavaScript(browser, async (other) => {
      const urls = recordUrls(other);
      await other.goto("/login");
      await fillCredentials(other, email);
      await other.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(other).toHaveURL(/\/login\?error=approval_needs_js$/);
      await expect(other.getByRole("main").getByRole("alert")).toContainText("needs JavaScript");
      expectNoCredentialsIn(urls, email);
    });
  });

  test("a taken email on /register is explained on /register", async ({ browser, page }) => {
    const email = newEmail("nojs-taken");
    await register(page, email);
    await withoutJavaScript(browser, async (other) => {
      await other.goto("/register");
      await fillCredentials(other, email);
      await other.getByRole("button", { name: "Create account" }).click();
      await expect(other).toHaveURL(/\/register\?error=exists$/);
      await expect(other.getByRole("main").getByRole("alert")).toContainText("already exists");
    });
  });
});

test("with JavaScript the forms are method=post to the form handler, but sign in through tRPC", async ({ page }) => {
  const email = newEmail("js-form");
  const urls = recordUrls(page);
  for (const [path, action] of [
    ["/login", "/api/form/login"],
    ["/register", "/api/form/register"],
  ] as const) {
    await page.goto(path);
    const form = page.locator("form").filter({ has: page.getByLabel("Email") });
    await expect(form).toHaveAttribute("method", "post");
    await expect(form).toHaveAttribute("action", action);
  }
  await fillCredentials(page, email);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  expect(urls.some((url) => url.includes("/api/trpc/auth.register"))).toBe(true);
  expect(urls.some((url) => url.includes("/api/form/"))).toBe(false);
  expectNoCredentialsIn(urls, email);
});

test("a submit before the page's scripts have loaded posts the form instead of putting the password in the URL", async ({ page }) => {
  const email = newEmail("early");
  // The app's scripts never arrive: what a click right after a restart or on a slow link meets.
  await page.route("**/_next/static/**/*.js", (route) => route.abort());
  const urls = recordUrls(page);
  await page.goto("/register");
  await fillCredentials(page, email);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  expectNoCredentialsIn(urls, email);
});
