import type { Db } from "~/server/platform/db";
import { locateAll } from "~/server/platform/geo";

// account.securityActivity: the user's own security events (the audit log the app writes,
// security/security-events.ts), newest first, paged like the sign-in history, each with a
// sentence people understand. Shown on the dashboard next to the sign-in history.

const TITLES: Record<string, string> = {
  session_revoked: "A session was signed out",
  sessions_revoked_others: "All other sessions were signed out",
  session_evicted: "A session was ended by the session limit",
  session_limit_rejected: "A sign-in was refused: session limit reached",
  lockout: "Emergency lockout: every session ended",
  lockout_failed: "Emergency lockout refused: wrong password",
  device_forgotten: "A device was forgotten",
  device_renamed: "A device was renamed",
  handoff_approved: "A QR sign-in was approved",
  handoff_denied: "A QR sign-in was denied",
  handoff_completed: "A device signed in with a QR code",
  handoffs_cancelled: "Open QR codes were cancelled",
  approval_requested: "A new device asked for approval",
  approval_confirmed: "A new device was approved",
  approval_code_wrong: "A wrong approval code was entered",
  approval_denied: "A new device was denied",
  tokens_issued_from_session: "An app was signed in from a session",
  refresh_token_reused: "An app's refresh token was used twice: its session was ended",
  access_token_revoked: "An app's access token was revoked",
  token_session_ended: "An app session ended",
  account_throttled: "Sign-ins slowed down after wrong passwords",
  suspicious_sign_in: "Suspicious sign-in",
  password_changed: "Password changed",
  password_change_failed: "Password change refused: wrong password",
  reauthenticated: "Password confirmed for a sensitive action",
  reauth_failed: "Wrong password for a sensitive action",
  password_reset_requested: "Password reset link requested",
  password_reset: "Password reset by email link",
  email_verified: "Email address verified",
  email_change_requested: "Change of email address requested",
  email_changed: "Email address changed",
  data_exported: "Your data was downloaded",
  passkey_added: "A passkey was added",
  passkey_renamed: "A passkey was renamed",
  passkey_removed: "A passkey was removed",
  passkey_clone_detected: "A passkey sign-in was refused: the passkey may have been copied",
  two_factor_enabled: "Two-factor authentication turned on",
  two_factor_disabled: "Two-factor authentication turned off",
  two_factor_failed: "Wrong authenticator code for a two-factor change",
  recovery_codes_regenerated: "New recovery codes created",
  recovery_code_used: "A recovery code was used to sign in",
  second_factor_failed: "A wrong second-factor code was entered at sign-in",
};

/** A sentence for an event type (an unknown one, from a newer version, reads as itself). */
const securityEventTitle = (type: string) => TITLES[type] ?? type.replaceAll("_", " ");

export async function securityActivity(deps: { db: Db }, userId: string, page: { cursor?: string; limit: number }) {
  const rows = await deps.db.securityEvent.findMany({
    where: { userId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: page.limit + 1,
    ...(page.cursor ? { cursor: { id: page.cursor }, skip: 1 } : {}),
  });
  const items = rows.slice(0, page.limit);
  const deviceIds = [...new Set(items.flatMap((e) => (e.deviceId ? [e.deviceId] : [])))];
  const [places, devices] = await Promise.all([
    locateAll(items.map((e) => e.ip)),
    deviceIds.length ? deps.db.device.findMany({ where: { userId, id: { in: deviceIds } }, select: { id: true, name: true } }) : [],
  ]);
  const deviceNames = new Map(devices.map((d) => [d.id, d.name]));
  return {
    items: items.map((e) => ({
      id: e.id,
      type: e.type,
      title: securityEventTitle(e.type),
      createdAt: e.createdAt,
      ip: e.ip,
      location: places.get(e.ip)!.label,
      deviceName: e.deviceId ? (deviceNames.get(e.deviceId) ?? null) : null,
    })),
    nextCursor: rows.length > page.limit ? items[items.length - 1]!.id : null,
  };
}
