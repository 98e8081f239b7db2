import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIREFOX_LINUX, LONDON, PASSWORD, SYDNEY } from "~/test/fixtures";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import type { RouterOutputs } from "~/trpc/types";

type Login = RouterOutputs["auth"]["login"];

// Issue 13, item 21: an attacker who can set a cookie in the victim's browser before the victim
// signs in (plain http, a sibling subdomain) must not learn a device cookie that the server then
// treats as the victim's known device, letting the attacker skip new-device approval.
describe("device cookie integrity (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const browser = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({ TRUST_PROXY: "true", NEW_DEVICE_APPROVAL: "true", SESSION_LIMIT: "0" });
  });
  afterAll(() => t.close());

  /** The victim's own browser, holding whatever device cookie the attacker planted, signs up there. */
  async function victimSignsUpWith(planted: string) {
    const email = uniqueEmail();
    const victim = browser(LONDON);
    victim.cookies.set("handoff_device", planted);
    const reg = await victim.mutation("auth.register", { email, password: PASSWORD });
    expect(reg.status).toBe(200);
    return { email, victim };
  }

  /** The attacker, with the password, signs in from elsewhere presenting the planted value. */
  async function attackerSignsInWith(email: string, cookie: string) {
    const attacker = browser(SYDNEY, FIREFOX_LINUX);
    attacker.cookies.set("handoff_device", cookie);
    const res = await attacker.mutation<Login>("auth.login", { email, password: PASSWORD });
    return { attacker, res };
  }

  const randomId = () => crypto.randomBytes(32).toString("base64url");

  it("a planted raw value is replaced by a fresh cookie and does not make the attacker's browser a known device", async () => {
    const planted = randomId();
    const { email, victim } = await victimSignsUpWith(planted);
    expect(victim.cookies.get("handoff_device")).not.toBe(planted);

    const { attacker, res } = await attackerSignsInWith(email, planted);
    expect(res.data).toMatchObject({ status: "approval_required" });
    expect((await attacker.query("auth.me")).status).toBe(401);
    expect(attacker.cookies.get("handoff_device")).not.toBe(planted);
  });

  it("a value with the right shape but a wrong MAC is treated like no cookie", async () => {
    const id = randomId();
    for (const planted of [`${id}.${randomId()}`, `${id}.`, `${id}.${"A".repeat(43)}`]) {
      const { email, victim } = await victimSignsUpWith(planted);
      expect(victim.cookies.get("handoff_device")).not.toBe(planted);
      expect((await attackerSignsInWith(email, planted)).res.data).toMatchObject({ status: "approval_required" });
      // Nor does the bare id (what the attacker chose) match the device the victim's browser now is.
      expect((await attackerSignsInWith(email, id)).res.data).toMatchObject({ status: "approval_required" });
    }
  });

  it("a cookie the server issued still makes its browser a known device", async () => {
    const { email, victim } = await victimSignsUpWith(randomId());
    const genuine = victim.cookies.get("handoff_device")!;
    expect(genuine).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    // Only the exact value: base64 decoders skip stray characters, the check must not.
    for (const variant of [`${genuine}.`, `${genuine}=`, `${genuine.slice(0, 44)}*${genuine.slice(44)}`]) {
      expect((await attackerSignsInWith(email, variant)).res.data, variant).toMatchObject({ status: "approval_required" });
    }

    await victim.mutation("auth.logout");
    const again = await victim.mutation<Login>("auth.login", { email, password: PASSWORD });
    expect(again.data).toMatchObject({ status: "signed_in" });
    expect(victim.cookies.get("handoff_device")).toBe(genuine);

    // The same browser (its cookie) from another network is still the same device.
    const moved = await attackerSignsInWith(email, genuine);
    expect(moved.res.data).toMatchObject({ status: "signed_in" });
  });

  it("a cookie sealed with another SESSION_SECRET is not accepted", async () => {
    const other = await createTestServices({ SESSION_SECRET: "another-secret-that-is-long-enough-9876543210" });
    try {
      const elsewhere = new TestBrowser(other.services);
      await elsewhere.mutation("auth.register", { email: uniqueEmail(), password: PASSWORD });
      const foreign = elsewhere.cookies.get("handoff_device")!;
      const { email, victim } = await victimSignsUpWith(foreign);
      expect(victim.cookies.get("handoff_device")).not.toBe(foreign);
      expect((await attackerSignsInWith(email, foreign)).res.data).toMatchObject({ status: "approval_required" });
    } finally {
      await other.close();
    }
  });
  it("a genuine cookie the attacker got from the server and planted is worth nothing once the victim signs in: the device is trusted under a cookie issued then", async () => {
    const attacker = browser(SYDNEY, FIREFOX_LINUX);
    // Any anonymous call that looks at the device hands out a genuine, signed cookie.
    await attacker.mutation("auth.login", { email: uniqueEmail(), password: "anything wrong" });
    const issued = attacker.cookies.get("handoff_device")!;
    expect(issued).toBeTruthy();

    const { email, victim } = await victimSignsUpWith(issued);
    expect(victim.cookies.get("handoff_device")).not.toBe(issued);
    const { res } = await attackerSignsInWith(email, issued);
    expect(res.data).toMatchObject({ status: "approval_required" });

    // The victim's browser is a known device under its new cookie: no approval for it.
    await victim.mutation("auth.logout");
    expect((await victim.mutation<Login>("auth.login", { email, password: PASSWORD })).data).toMatchObject({ status: "signed_in" });
  });
});
