import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";
import { instancePorts, serverLogDir } from "../playwright.config";
import { ApiClient, USER_AGENT } from "./api-client";
import { newEmail, register, signInWithApproval, waitForServer } from "./helpers";

// Three `next start` instances of one build on one PostgreSQL and one Redis Cluster (3 masters +
// 3 replicas, .ci/redis-cluster.sh), as behind a load balancer (same APP_URL, secret and prefix;
// e2e/serve.ts starts them). A small proxy in front of
// each instance plays the load balancer: it forwards to that instance only, presents the public
// origin and host (APP_URL) as a real balancer would, and tags every request with an
// X-Request-Id naming the instance, which that instance's request log then shows. Cookies on
// localhost are shared across ports, so a browser keeps its session whichever proxy it uses.

type Instance = keyof typeof instancePorts;
const FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const appURL = `http://localhost:${instancePorts.A}`;
const tag = `mi${Date.now().toString(36)}`;
const balancers = new Map<Instance, { url: string; server: http.Server }>();

async function startBalancer(instance: Instance) {
  let n = 0;
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers, host: new URL(appURL).host, "x-request-id": `${tag}-${instance}-${++n}` };
    if (headers.origin) headers.origin = appURL;
    const upstream = http.request({ host: "127.0.0.1", port: instancePorts[instance], path: req.url, method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  balancers.set(instance, { url: `http://localhost:${(server.address() as AddressInfo).port}`, server });
}
const through = (instance: Instance) => balancers.get(instance)!.url;

/** Request ids of this run in an instance's log, with their route and status. */
function logged(instance: Instance) {
  const file = `${serverLogDir}/server-${instancePorts[instance]}.log`;
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.includes(`"${tag}-`))
    .map((line) => JSON.parse(line) as { reqId: string; route: string; status: number });
}

test.beforeAll(async ({ request }) => {
  for (const port of Object.values(instancePorts)) await waitForServer(request, `http://localhost:${port}`);
  for (const instance of ["A", "B", "C"] as const) await startBalancer(instance);
});

test.afterAll(async () => {
  for (const { server } of balancers.values()) {
    server.closeAllConnections();
    server.close();
  }
});

test("sign in on A, approve from B, revoke on C: every instance rejects the session at once and every open page hears it", async ({ browser }) => {
  test.setTimeout(90_000);
  const email = newEmail("instances");
  const laptop = await browser.newContext({ baseURL: through("A"), userAgent: USER_AGENT });
  const phone = await browser.newContext({ baseURL: through("C"), userAgent: FIREFOX_LINUX });

  // The laptop registers through A, then its dashboard is served (and subscribed) through B.
  const laptopPage = await laptop.newPage();
  await register(laptopPage, email);
  await laptopPage.close();
  const laptopOnB = await laptop.newPage();
  await laptopOnB.goto(`${through("B")}/dashboard`);
  await expect(laptopOnB.getByTestId("device-card")).toHaveCount(1);
  const laptopCookies = await laptop.cookies();

  // A new device signs in through C: B's open dashboard asks for the code, approving it on B lets
  // the device waiting on C in.
  const phoneOnC = await phone.newPage();
  await signInWithApproval(phoneOnC, email, laptopOnB);
  await expect(laptopOnB.getByTestId("device-card")).toHaveCount(2);

  // The phone also has a dashboard open through A.
  const phoneOnA = await phone.newPage();
  await phoneOnA.goto(`${through("A")}/dashboard`);
  const laptopCardOnA = phoneOnA.getByTestId("device-card").filter({ hasText: "Chrome on macOS" });
  await expect(laptopCardOnA).toContainText("Active");

  // The phone revokes the laptop's session through C.
  const laptopCardOnC = phoneOnC.getByTestId("device-card").filter({ hasText: "Chrome on macOS" });
  await laptopCardOnC.getByRole("button", { name: /^Revoke session/ }).click();
  const revoked = phoneOnC.waitForResponse((r) => r.url().includes("sessions.revoke") && r.request().method() === "POST");
  await phoneOnC.getByRole("dialog", { name: "Revoke this session?" }).getByRole("button", { name: "Revoke" }).click();
  expect((await revoked).status()).toBe(200);

  // The revoked cookie is refused by every instance on its very next request.
  const results = await Promise.all(
    (Object.keys(instancePorts) as Instance[]).map(async (instance) => {
      const client = new ApiClient(`http://localhost:${instancePorts[instance]}`, { origin: appURL });
      for (const c of laptopCookies) client.cookies.set(c.name, c.value);
      return (await client.query("auth.me")).error?.data.code;
    }),
  );
  expect(results).toEqual(["UNAUTHORIZED", "UNAUTHORIZED", "UNAUTHORIZED"]);

  // Open pages on the other two instances hear it live: the laptop's page (B) leaves for the
  // sign-in page, the phone's page on A shows the laptop without a session.
  await expect(laptopOnB).toHaveURL(/\/login\?reason=revoked$/, { timeout: 2_000 });
  await expect(laptopCardOnA).toContainText("Inactive", { timeout: 2_000 });
  await expect(laptopCardOnC).toContainText("Inactive");

  // Each page's requests really went to the instance it was pinned to (the logs are written asynchronously).
  for (const instance of ["A", "B", "C"] as const) {
    await expect.poll(() => logged(instance).length).toBeGreaterThan(0);
    expect(logged(instance).every((e) => e.reqId.startsWith(`${tag}-${instance}-`))).toBe(true);
  }
  await laptop.close();
  await phone.close();
});
