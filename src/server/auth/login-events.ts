import type { Db } from "~/server/platform/db";
import { noteRequestUser } from "~/server/platform/logger";
import { metrics } from "~/server/platform/metrics";
import type { LoginMethod, LoginOutcome } from "~/generated/prisma/enums";
import type { ClientInfo } from "./types";

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
  metrics().signIns.inc({ outcome: event.outcome, method: event.method });
  noteRequestUser(event.userId);
  await db.loginEvent.create({
    data: {
      userId: event.userId,
      email: event.email.slice(0, 254),
      deviceId: event.deviceId ?? null,
      ip: event.client.ip,
      userAgent: event.client.userAgent.slice(0, 512),
      method: event.method,
      outcome: event.outcome,
      reason: event.reason ?? null,
      suspicious: event.suspicious ?? null,
    },
  });
}
