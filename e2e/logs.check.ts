import fs from "node:fs";
import { expect, test } from "@playwright/test";
import { serverLogDir } from "../playwright.config";
import { PASSWORD } from "./helpers";

// Runs after every browser test (its own project): the production servers' stdout of the whole
// run must be JSON lines, one per request with the documented fields, holding none of the
// secrets the tests used: passwords, session and other sealed cookies (iron-session "Fe26.2*"),
// JWT access tokens, full email addresses.

test("the servers' logs of the run are JSON request lines without secrets", async () => {
  const files = fs.readdirSync(serverLogDir).filter((f) => f.endsWith(".log"));
  expect(files.length).toBe(4);
  const lines = files.flatMap((f) => fs.readFileSync(`${serverLogDir}/${f}`, "utf8").split("\n").filter(Boolean));
  expect(lines.length).toBeGreaterThan(100);
  const requests = [];
  // Next.js prints its start-up banner as text; everything the app logs is a JSON object per line.
  for (const line of lines.filter((l) => l.startsWith("{"))) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) });
    if (entry.msg === "request") requests.push(entry);
  }
  for (const entry of requests) {
    expect(entry).toMatchObject({
      reqId: expect.any(String),
      method: expect.any(String),
      route: expect.any(String),
      status: expect.any(Number),
      durationMs: expect.any(Number),
    });
    if ((entry.status as number) >= 400 && entry.route === "/api/trpc") expect(entry.trpcCode).toEqual(expect.any(String));
  }
  expect(requests.some((e) => e.route === "/api/trpc" && typeof e.userId === "string")).toBe(true);
  const all = lines.join("\n");
  for (const secret of [PASSWORD, "not the password", "not my password", "another long passphrase"]) expect(all).not.toContain(secret);
  expect(all).not.toMatch(/Fe26\.2\*/);
  expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  expect(all).not.toMatch(/[A-Za-z0-9._%+-]+@example\.com/);
  expect(all).not.toMatch(/handoff_(session|device|pending|approval)=/);
});
