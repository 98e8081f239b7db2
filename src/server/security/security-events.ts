import type { Db } from "~/server/platform/db";
import { countSecurityEvent } from "~/server/platform/metrics";
import type { Prisma } from "~/generated/prisma/client";

export type SecurityEventType =
  | "session_revoked"
  | "sessions_revoked_others"
  | "session_evicted"
  | "session_limit_rejected"
  | "lockout"
  | "lockout_failed"
  | "device_forgotten"
  | "device_renamed"
  | "handoff_approved"
  | "handoff_denied"
  | "handoff_completed"
  | "handoffs_cancelled"
  | "approval_requested"
  | "approval_confirmed"
  | "approval_code_wrong"
  | "approval_denied"
  | "tokens_issued_from_session"
  | "refresh_token_reused"
  | "access_token_revoked"
  | "token_session_ended"
  | "account_throttled"
  | "suspicious_sign_in"
  | "password_changed"
  | "password_change_failed"
  | "reauthenticated"
  | "reauth_failed"
  | "password_reset_requested"
  | "password_reset"
  | "email_verified"
  | "email_change_requested"
  | "email_changed"
  | "data_exported"
  | "passkey_added"
  | "passkey_renamed"
  | "passkey_removed"
  | "passkey_clone_detected"
  | "two_factor_enabled"
  | "two_factor_disabled"
  | "two_factor_failed"
  | "recovery_codes_regenerated"
  | "recovery_code_used"
  | "second_factor_failed";

export async function recordSecurityEvent(
  db: Db,
  event: { type: SecurityEventType; userId: string; ip: string; sessionId?: string | null; deviceId?: string | null; detail?: Prisma.InputJsonValue },
): Promise<void> {
  countSecurityEvent(event.type);
  await db.securityEvent.create({
    data: {
      type: event.type,
      userId: event.userId,
      ip: event.ip,
      sessionId: event.sessionId ?? null,
      deviceId: event.deviceId ?? null,
      detail: event.detail,
    },
  });
}
