import type { UserEventInput } from "~/server/live/events";
import { report, type Report } from "~/server/security/report";
import type { OwnRecordsDeps } from "~/server/auth/types";

// The one step that ends an account's sessions, for every flow that needs it: the emergency
// lockout, a password change that signs the others out, "sign out other sessions", forgetting a
// device (and password reset and account deletion next). In this order:
//   1. with `distrustDevices`, every device becomes unknown again (its next sign-in is a new device);
//   2. the sessions end, cookie and token sessions alike (sessions/store.ts); for the whole account
//      the session epoch moves on in the same script, so a sign-in whose password was checked
//      before cannot open a session after (one device's end leaves the epoch alone);
//   3. with `cancelPending`, the open QR handoffs and new-device approval requests are cancelled
//      (for one device: only the approval requests that browser made);
//   4. one report(): the caller's audit rows, then the live events (each cancelled approval, then
//      why the sessions ended, then the caller's own), then the caller's mail.

type RevokedReason = Extract<UserEventInput, { type: "revoked" }>["reason"];

export interface EndEverythingOptions {
  userId: string;
  /**
   * Why, as the open pages are told: `lockout` sends `locked_out` (with `passwordChanged`); any
   * other reason sends `revoked` with that reason, when a session ended.
   */
  reason: "lockout" | RevokedReason;
  /** With `lockout`: the password was changed in the same step (pages say so as they leave). */
  passwordChanged?: boolean;
  /** The session that stays signed in (the one changing the password or signing the others out). Absent: every session ends. */
  keepSessionId?: string;
  /** Only this device: its sessions end, and (with `cancelPending`) the approval requests its browser made. */
  device?: { id: string; cookieHash: string };
  /** Cancel the open QR handoffs and new-device approval requests. */
  cancelPending: boolean;
  /** Every device of the account becomes unknown again (the next sign-in anywhere is a new device). */
  distrustDevices?: boolean;
  /** false: the caller tells the pages itself (account deletion does, after resetting the feed). Default true. */
  tellPages?: boolean;
  /** The audit rows, mail and further live events that go with it, given what ended. */
  report?: (ended: Ended) => Omit<Report, "userId">;
}

export interface Ended {
  /** Session ids that ended. */
  sessions: string[];
  cancelledHandoffs: string[];
  cancelledApprovals: string[];
  distrustedDevices: string[];
}

export type EndEverythingDeps = Pick<OwnRecordsDeps, "db" | "sessions" | "deviceCache" | "events" | "handoffs" | "approvals" | "mailer">;

export async function endEverything(deps: EndEverythingDeps, options: EndEverythingOptions): Promise<Ended> {
  const { userId, device } = options;
  const distrustedDevices = options.distrustDevices ? await distrustDevices(deps, userId) : [];
  const sessions = await deps.sessions.deleteUserSessions(userId, device ? { deviceId: device.id } : { except: options.keepSessionId, newEpoch: true });
  const cancelledHandoffs = options.cancelPending && !device ? await deps.handoffs.cancelForUser(userId) : [];
  const cancelledApprovals = options.cancelPending ? await deps.approvals.cancelForUser(userId, device?.cookieHash) : [];
  const ended: Ended = { sessions, cancelledHandoffs, cancelledApprovals, distrustedDevices };

  const why: UserEventInput | null =
    options.tellPages === false
      ? null
      : options.reason === "lockout"
        ? { type: "locked_out", sessionIds: sessions, passwordChanged: options.passwordChanged ?? false }
        : sessions.length
          ? { type: "revoked", sessionIds: sessions, reason: options.reason }
          : null;
  const extra = options.report?.(ended) ?? {};
  const extraLive = extra.live ? (Array.isArray(extra.live) ? extra.live : [extra.live]) : [];
  await report(deps, {
    userId,
    audit: extra.audit,
    live: [
      ...cancelledApprovals.map((requestId): UserEventInput => ({ type: "approval_resolved", requestId, status: "cancelled" })),
      why,
      ...(extraLive as (UserEventInput | false | null | undefined)[]),
    ],
    mail: extra.mail,
  });
  return ended;
}

/** Forgets every device of the user (as forgetting one does): their cookies no longer make a known device. */
async function distrustDevices(deps: EndEverythingDeps, userId: string): Promise<string[]> {
  const rows = await deps.db.$queryRaw<{ id: string }[]>`
    UPDATE "Device" SET "forgottenAt" = now(), "cookieHash" = 'forgotten:' || "id"::text
    WHERE "userId" = ${userId}::uuid AND "forgottenAt" IS NULL
    RETURNING "id"::text AS "id"`;
  await deps.deviceCache.invalidate(userId);
  return rows.map((r) => r.id);
}
