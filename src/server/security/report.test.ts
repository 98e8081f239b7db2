import crypto from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices } from "~/test/harness";
import { createLogger, maskEmail, setLogger } from "~/server/platform/logger";
import { Mailer } from "~/server/platform/mail";
import { report } from "~/server/security/report";
import { locate } from "~/server/platform/geo";
import { notify } from "~/server/security/notify";

// report(): the audit row, the live event and the security email, in that order, on the real
// PostgreSQL, Redis feed and mail outbox.

describe("report (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  beforeAll(async () => {
    t = await createTestServices();
  });
  afterAll(() => t.close());

  async function newUser() {
    const user = await t.services.db.user.create({ data: { email: `report-${crypto.randomUUID()}@example.com`, passwordHash: "x" } });
    return user;
  }

  it("writes the audit rows, then publishes the live events, then queues the mail; left-out entries are skipped", async () => {
    const user = await newUser();
    const from = await t.services.events.currentSeq(user.id);
    await report(t.services, {
      userId: user.id,
      audit: [{ type: "session_revoked", sessionId: "s1", ip: "127.0.0.1", detail: { by: "s0" } }, false, { type: "device_renamed", ip: "127.0.0.1" }],
      live: [null, { type: "revoked", sessionIds: ["s1"], reason: "revoked" }, { type: "device_updated", deviceId: "d1" }],
      mail: { to: user.email, message: notify.lockout({ ip: "127.0.0.1", place: await locate("127.0.0.1") }, 2) },
    });
    const rows = await t.services.db.securityEvent.findMany({ where: { userId: user.id }, orderBy: { createdAt: "asc" } });
    expect(rows.map((r) => [r.type, r.sessionId, r.ip])).toEqual([
      ["session_revoked", "s1", "127.0.0.1"],
      ["device_renamed", null, "127.0.0.1"],
    ]);
    const polled = await t.services.events.poll(user.id, "no-session", from);
    expect(polled.events.map((e) => e.type)).toEqual(["revoked", "device_updated"]);
    // The events came after the rows: each row is older than the first event.
    const firstEventAt = new Date(polled.events[0]!.at).getTime();
    for (const row of rows) expect(row.createdAt.getTime()).toBeLessThanOrEqual(firstEventAt);
    await t.services.mailer.flush();
    const mail = (await t.services.mailer.outbox()).find((m) => m.to === user.email);
    expect(mail).toMatchObject({ subject: "Handoff: all sessions signed out" });
    expect(mail?.text).toMatch(/2 sessions were signed out/);
  });

  it("a mail that cannot be sent is logged, never thrown, and does not hold up the report", async () => {
    const user = await newUser();
    // A real SMTP client pointed at a closed port.
    const failing = new Mailer({
      enabled: true,
      smtpUrl: "smtp://127.0.0.1:1",
      from: "Handoff <no-reply@localhost>",
      redis: t.services.redis.redis,
      prefix: t.env.REDIS_PREFIX,
    });
    const lines: string[] = [];
    const memory = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    const previous = setLogger(createLogger({ level: "info", destination: memory }));
    try {
      await expect(
        report(
          { ...t.services, mailer: failing },
          {
            userId: user.id,
            audit: { type: "password_changed", ip: "127.0.0.1" },
            mail: { to: user.email, message: notify.passwordChanged({ ip: "127.0.0.1", place: await locate("127.0.0.1") }, 0) },
          },
        ),
      ).resolves.toBeUndefined();
      expect(await t.services.db.securityEvent.count({ where: { userId: user.id, type: "password_changed" } })).toBe(1);
      await failing.flush();
      const logged = lines.map((line) => JSON.parse(line) as { level: string; msg: string; subject?: string; to?: string; err?: { message?: string } });
      expect(logged).toContainEqual(
        expect.objectContaining({ level: "error", msg: "could not send an email", subject: "Handoff: your password was changed", to: maskEmail(user.email) }),
      );
      // The address itself never reaches the log.
      expect(lines.some((line) => line.includes(user.email))).toBe(false);
    } finally {
      setLogger(previous);
    }
  });

  it("an audit row that cannot be written fails the report before anything is told", async () => {
    const user = await newUser();
    const ghost = crypto.randomUUID(); // no such user: the row's foreign key refuses it
    await t.services.mailer.flush();
    const before = (await t.services.mailer.outbox()).length;
    await expect(
      report(t.services, {
        userId: ghost,
        audit: { type: "lockout", ip: "127.0.0.1" },
        live: { type: "device_updated", deviceId: "d" },
        mail: { to: user.email, message: notify.lockout({ ip: "127.0.0.1", place: await locate("127.0.0.1") }, 1) },
      }),
    ).rejects.toThrow();
    expect((await t.services.events.poll(ghost, "no-session", 0)).events).toEqual([]);
    await t.services.mailer.flush();
    expect((await t.services.mailer.outbox()).length).toBe(before);
  });
});
