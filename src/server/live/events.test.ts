import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  approvalResolution,
  approvalStatus,
  revokeReason,
  userEvent,
  userEventType,
  type ApprovalStatus,
  type UserEvent,
  type UserEventType,
} from "~/lib/live-events";
import type { ApprovalStatus as StoredApprovalStatus } from "~/server/approvals/store";
import { createTestServices } from "~/test/harness";
import type { UserEventInput } from "./events";

const readme = fs.readFileSync(path.join(import.meta.dirname, "../../../README.md"), "utf8");

// One of each event, as published (without `at`): the wire format the pages already read.
const ONE_OF_EACH: UserEventInput[] = [
  { type: "signed_in", sessionId: "s1", deviceId: "d1", deviceName: "Chrome on macOS", method: "password", ip: "203.0.113.7", location: "Paris, France" },
  { type: "revoked", sessionIds: ["s1"], reason: "token_reuse" },
  { type: "locked_out", sessionIds: ["s1", "s2"], passwordChanged: true },
  { type: "device_updated", deviceId: "d1" },
  {
    type: "approval_requested",
    requestId: "r1",
    deviceName: "Firefox on Linux",
    nameGivenByDevice: false,
    ip: "203.0.113.8",
    location: "Local network",
    expiresAt: "2030-01-01T00:00:00.000Z",
  },
  { type: "sign_in_throttled", attempts: 5, ip: "203.0.113.9", location: "Unknown location" },
  { type: "approval_resolved", requestId: "r1", status: "failed" },
  { type: "passkeys_changed" },
];

describe("live events: one definition for server and pages", () => {
  it("the shared approval states are the store's", () => {
    expectTypeOf<ApprovalStatus>().toEqualTypeOf<StoredApprovalStatus>();
    expectTypeOf<UserEvent["type"]>().toEqualTypeOf<UserEventType>();
    expect(approvalResolution.options.every((status) => approvalStatus.options.includes(status))).toBe(true);
  });

  it("the example list has one event of every type", () => {
    expect(ONE_OF_EACH.map((event) => event.type).sort()).toEqual([...userEventType.options].sort());
  });

  it("the README's sessions.onEvent entry lists every type, revoke reason and resolution status", () => {
    const row = readme.split("\n").find((line) => line.startsWith("| `sessions.onEvent`"));
    expect(row).toBeDefined();
    for (const type of userEventType.options) expect(row, type).toContain(`type: "${type}"`);
    for (const reason of revokeReason.options) expect(row, reason).toContain(`\`${reason}\``);
    for (const status of approvalResolution.options) expect(row, status).toContain(`\`${status}\``);
  });

  it("refuses values outside the enums", () => {
    const at = new Date().toISOString();
    expect(userEvent.safeParse({ type: "revoked", sessionIds: ["s"], reason: "because", at }).success).toBe(false);
    expect(userEvent.safeParse({ type: "approval_resolved", requestId: "r", status: "pending", at }).success).toBe(false);
    expect(userEvent.safeParse({ type: "something_new", at }).success).toBe(false);
    expect(userEvent.safeParse({ type: "revoked", sessionIds: ["s"], reason: "evicted", at }).success).toBe(true);
  });

  describe("through the Redis feed (real Redis)", () => {
    let t: Awaited<ReturnType<typeof createTestServices>>;
    beforeAll(async () => {
      t = await createTestServices();
    });
    afterAll(() => t.close());

    it("every event type comes back from the feed unchanged, with its position", async () => {
      const { events } = t.services;
      const user = { id: randomUUID() };
      const from = await events.currentSeq(user.id);
      for (const event of ONE_OF_EACH) await events.publish(user.id, event);
      const polled = await events.poll(user.id, "no-such-session", from);
      expect(polled.alive).toBe(false);
      expect(polled.events.map(({ at: _at, seq: _seq, ...event }) => event)).toEqual(ONE_OF_EACH);
      expect(polled.events.map((event) => event.seq)).toEqual(ONE_OF_EACH.map((_, i) => from + i + 1));
    });

    it("several events published at once land in order, one sequence number each", async () => {
      const { events } = t.services;
      const user = { id: randomUUID() };
      const from = await events.currentSeq(user.id);
      const last = await events.publishAll(user.id, ONE_OF_EACH);
      expect(last).toBe(from + ONE_OF_EACH.length);
      const polled = await events.poll(user.id, "no-such-session", from);
      expect(polled.events.map(({ at: _at, seq: _seq, ...event }) => event)).toEqual(ONE_OF_EACH);
      expect(polled.events.map((event) => event.seq)).toEqual(ONE_OF_EACH.map((_, i) => from + i + 1));
      expect(await events.publishAll(user.id, [])).toBe(last);
    });

    it("an event with an unknown value in the feed is skipped, not passed on untyped", async () => {
      const { events } = t.services;
      const user = { id: randomUUID() };
      await events.publish(user.id, { type: "device_updated", deviceId: "d1" });
      // As a newer server might write it.
      await events.publish(user.id, { type: "revoked", sessionIds: ["s1"], reason: "not_a_reason" } as unknown as UserEventInput);
      await events.publish(user.id, { type: "device_updated", deviceId: "d2" });
      const polled = await events.poll(user.id, "no-such-session", 0);
      expect(polled.events.map((event) => event.type === "device_updated" && event.deviceId)).toEqual(["d1", "d2"]);
      expect(polled.seq).toBe(3);
    });
  });
});
