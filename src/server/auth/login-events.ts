import type { Db } from "~/server/platform/db";
import { noteRequestUser } from "~/server/platform/logger";
import { metrics } from "~/server/platform/metrics";
import type { LoginMethod, LoginOutcome } from "~/generated/prisma/enums";
import type { ClientInfo } from "./types";

/** The address as a history row keeps it (at most what an address can be). */
export const loginEventEmail = (email: string) => email.slice(0, 254);
/** The user agent as a history row keeps it. */
export const loginEventUserAgent = (userAgent: string) => userAgent.slice(0, 512);

/** Counted once per sign-in attempt, with its final outcome. */
export function countSignIn(event: { userId: string | null; method: LoginMethod; outcome: LoginOutcome }): void {
  metrics().signIns.inc({ outcome: event.outcome, method: event.method });
  noteRequestUser(event.userId);
}

/** One row of the sign-in history (the history list and suspicious-sign-in checks read it). */
export async function recordLoginEvent(
  db: Db,
  event: {
    userId: string | null;
    email: string;
    deviceId?: string | null;
    client: ClientInfo;
    method: LoginMethod;
    outcome: LoginOutcome;
    reason?: string;
    suspicious?: string;
  },
): Promise<void> {
  countSignIn(event);
  await db.loginEvent.create({
    data: {
      userId: event.userId,
      email: loginEventEmail(event.email),
      deviceId: event.deviceId ?? null,
      ip: event.client.ip,
      userAgent: loginEventUserAgent(event.client.userAgent),
      method: event.method,
      outcome: event.outcome,
      reason: event.reason ?? null,
      suspicious: event.suspicious ?? null,
    },
  });
}

/**
 * A successful sign-in's row is written with its device (devices/device.ts, recordDeviceSignIn),
 * before the session exists: this sets what came after, when anything did (the session was
 * refused, or the sign-in looked suspicious).
 */
export async function amendLoginEvent(db: Db, id: string, change: { outcome: "blocked"; reason: string } | { suspicious: string }): Promise<void> {
  await db.loginEvent.updateMany({ where: { id }, data: change });
}
