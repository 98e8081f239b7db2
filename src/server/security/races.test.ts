import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIREFOX_LINUX, IPHONE, LONDON, PASSWORD, SYDNEY } from "~/test/fixtures";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import type { RouterOutputs } from "~/trpc/types";

// Time of check vs time of use: a request validated before a lockout must not create a session
// after it. Each trial races a thief against the owner and then counts what survived.

const TRIALS = 50;
const NEW_PASSWORD = "a brand new passphrase 42";

describe("a thief racing the owner's emergency lockout (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const at = (ip: string, userAgent?: string) => new TestBrowser(t.services, { userAgent, headers: { "x-forwarded-for": ip } });

  beforeAll(async () => {
    t = await createTestServices({ TRUST_PROXY: "true", SESSION_LIMIT: "0", TOKENS_FROM_SESSION_RATE_LIMIT: "10000" });
  });
  afterAll(() => t.close());

  async function owner() {
    const email = uniqueEmail();
    const laptop = at(LONDON);
    const res = await laptop.mutation<{ user: { id: string } }>("auth.register", { email, password: PASSWORD });
    expect(res.status).toBe(200);
    return { email, laptop, userId: res.data!.user.id };
  }

  /** Loops `call` until it answers 401 (its session is gone) or `stop()` says so; collects the 200s. */
  async function loopUntilRefused<T>(call: () => Promise<{ status: number; data?: T }>, stop: () => boolean, got: T[]) {
    while (!stop()) {
      const res = await call();
      if (res.status === 200) got.push(res.data!);
      else if (res.status === 401) return;
    }
  }

  it(`tokens.issueFromSession in a loop with a stolen cookie while the owner locks out: no session survives (${TRIALS} trials)`, async () => {
    let minted = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const { laptop, userId } = await owner();
      const thief = at(SYDNEY, FIREFOX_LINUX);
      thief.cookies = new Map(laptop.cookies);
      const tokens: RouterOutputs["tokens"]["issueFromSession"][] = [];
      let done = false;
      const call = () => thief.mutation<RouterOutputs["tokens"]["issueFromSession"]>("tokens.issueFromSession", { deviceName: "Chrome on macOS" });
      const thieves = Promise.all(Array.from({ length: 4 }, () => loopUntilRefused(call, () => done, tokens)));
      await new Promise((r) => setTimeout(r, trial % 10));
      expect((await laptop.mutation("sessions.lockout", { password: PASSWORD })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 30));
      done = true;
      await thieves;
      minted += tokens.length;
      expect(await t.services.sessions.listUserSessions(userId), `trial ${trial}`).toEqual([]);
      for (const pair of tokens.slice(-3)) {
        expect((await at(SYDNEY).mutation("tokens.refresh", { refreshToken: pair.refreshToken })).status).toBe(401);
      }
    }
    // The thief did get tokens before the lockout (the race was real); none outlived it.
    expect(minted).toBeGreaterThan(0);
  });

  it("password sign-ins with the old password in flight while the owner locks out and changes it: none lands after (20 trials)", async () => {
    for (let trial = 0; trial < 20; trial++) {
      const { email, laptop, userId } = await owner();
      let done = false;
      const signIns: unknown[] = [];
      const call = () => at(SYDNEY, IPHONE).mutation("auth.login", { email, password: PASSWORD });
      const stop = () => done;
      // Two at a time: the thief's attempts in flight must not throttle the owner's own lockout.
      const thieves = Promise.all([loopUntilRefused(call, stop, signIns), loopUntilRefused(call, stop, signIns)]);
      await new Promise((r) => setTimeout(r, trial % 10));
      const locked = await laptop.mutation("sessions.lockout", { password: PASSWORD, newPassword: NEW_PASSWORD });
      expect(locked.status, JSON.stringify(locked.error)).toBe(200);
      done = true;
      await thieves;
      expect(await t.services.sessions.listUserSessions(userId), `trial ${trial}`).toEqual([]);
    }
  });
});
