import { expect, test } from "@playwright/test";
import { fillCredentials, newEmail, PASSWORD, register } from "./helpers";

test("register, reach the dashboard, sign out, sign back in", async ({ page }, testInfo) => {
  const email = newEmail("flow");
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page).toHaveURL(/\/register$/);

  await fillCredentials(page, email, PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("user-email")).toHaveText(email);
  await expect(page.getByText("This device", { exact: true })).toBeVisible();
  await expect(page.getByTestId("device-name")).toContainText("Chrome");
  await page.screenshot({ path: testInfo.outputPath("dashboard.png"), fullPage: true });

  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed_out$/);
  await expect(page.getByRole("status")).toHaveText("You have signed out.");

  // The dashboard is gone with the session.
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login/);

  await fillCredentials(page, email.toUpperCase(), PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("user-email")).toHaveText(email);
});

test("a wrong password shows the error and keeps the user on the sign-in page", async ({ page }, testInfo) => {
  const email = newEmail("wrong");
  await page.goto("/register");
  await fillCredentials(page, email, PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login/);

  await fillCredentials(page, email, "not my password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("main").getByRole("alert")).toHaveText("Invalid email or password");
  await expect(page).toHaveURL(/\/login/);
  await page.screenshot({ path: testInfo.outputPath("login-error.png"), fullPage: true });

  // Unknown accounts get exactly the same message.
  await page.getByLabel("Email").fill(newEmail("nobody"));
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("main").getByRole("alert")).toHaveText("Invalid email or password");
});

test("the register form validates inline and reports a taken email", async ({ page }) => {
  const email = newEmail("taken");
  await page.goto("/register");
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByRole("textbox", { name: "Password", exact: true }).fill("short");
  await page.getByRole("textbox", { name: "Password", exact: true }).blur();
  await expect(page.getByText("Enter a valid email address")).toBeVisible();
  await expect(page.getByText("Password must be at least 8 characters")).toBeVisible();
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");

  await fillCredentials(page, email, PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/register");
  await fillCredentials(page, email, PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("main").getByRole("alert")).toContainText("already exists");
});

test("signed-in visitors skip the forms; a dead cookie sends them to /login saying the session ended, no cookie just to /login", async ({ page, context }) => {
  await register(page, newEmail("skip"));
  await page.goto("/login");
  await expect(page).toHaveURL(/\/dashboard$/);

  // Sign out, then put the old cookie back: the server no longer knows it.
  const signedIn = await context.cookies();
  expect((await page.request.post("/api/trpc/auth.logout", { headers: { origin: new URL(page.url()).origin }, data: { json: null } })).ok()).toBe(true);
  await context.addCookies(signedIn);
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login\?reason=expired$/);
  await expect(page.getByText("Your session has ended")).toBeVisible();

  // A browser that never had a session is simply asked to sign in.
  await context.clearCookies();
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByText("Your session has ended")).toHaveCount(0);
});
