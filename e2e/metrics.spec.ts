import { expect, test } from "@playwright/test";
import { metricsToken } from "../playwright.config";
import { ApiClient } from "./api-client";
import { newEmail, PASSWORD } from "./helpers";

// /api/metrics against the production build (`next start`): the registry is shared by Next.js's
// separate bundles, so counts made while answering /api/trpc show in the metrics route's scrape,
// also after a page has rendered.

async function scrape(baseURL: string): Promise<string> {
  const res = await fetch(`${baseURL}/api/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The sum of a metric's samples whose labels include `labels` (Prometheus text format). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(match[3]);
  }
  return sum;
}

test("the metrics endpoint refuses a missing or wrong token", async ({ baseURL }) => {
  expect((await fetch(`${baseURL}/api/metrics`)).status).toBe(401);
  const wrong = await fetch(`${baseURL}/api/metrics`, { headers: { authorization: "Bearer not-the-metrics-token-at-all" } });
  expect(wrong.status).toBe(401);
  expect(await wrong.text()).not.toContain("handoff_");
  expect((await fetch(`${baseURL}/api/metrics`, { headers: { authorization: `Basic ${btoa(`x:${metricsToken}`)}` } })).status).toBe(401);
});

test("a sign-in, a failed sign-in and a revocation show in the scrape", async ({ page, baseURL }) => {
  // A page first: its bundle loads its own copies of the server modules.
  await page.goto("/login");
  const before = await scrape(baseURL!);
  const email = newEmail("metrics");
  const laptop = new ApiClient(baseURL!);
  expect((await laptop.mutation("auth.register", { email, password: PASSWORD })).status).toBe(200);
  const phone = new ApiClient(baseURL!);
  // A known device (the laptop's device cookie): no approval step, a plain password sign-in.
  phone.cookies.set("handoff_device", laptop.cookies.get("handoff_device")!);
  expect((await phone.mutation("auth.login", { email, password: "not the password" })).status).toBe(401);
  expect((await phone.mutation("auth.login", { email, password: PASSWORD })).status).toBe(200);
  const sessions = (await laptop.query<{ id: string; current: boolean }[]>("sessions.list")).data!;
  const res = await laptop.raw("sessions.revoke", { method: "POST", body: JSON.stringify({ json: { sessionId: sessions.find((s) => !s.current)!.id } }) });
  expect(res.status).toBe(200);
  expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

  const after = await scrape(baseURL!);
  const grew = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
  // Other tests run in parallel against the same server: at least ours.
  expect(grew("handoff_sign_ins_total", { outcome: "success", method: "password" })).toBeGreaterThanOrEqual(2);
  expect(grew("handoff_sign_ins_total", { outcome: "failure", method: "password" })).toBeGreaterThanOrEqual(1);
  expect(grew("handoff_session_revocations_total", { reason: "revoked" })).toBeGreaterThanOrEqual(1);
  expect(grew("handoff_request_duration_seconds_count", { procedure: "sessions.revoke", code: "OK" })).toBeGreaterThanOrEqual(1);
  expect(grew("handoff_request_duration_seconds_count", { procedure: "auth.login", code: "UNAUTHORIZED" })).toBeGreaterThanOrEqual(1);
  expect(sample(after, "handoff_active_sessions")).toBeGreaterThanOrEqual(1);
  expect(after).toContain("nodejs_eventloop_lag_p99_seconds");
  expect(after).toContain("handoff_open_subscriptions");
});
