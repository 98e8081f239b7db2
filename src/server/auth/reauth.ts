import { newPasswordInput } from "~/lib/credentials";
import type { AuthDeps } from "./accounts";
import { cancelApprovals } from "./approvals";
import type { ApprovalStore } from "./approval-store";
import type { Actor } from "./control";
import { AuthError } from "./errors";
import { locate } from "./geo";
import type { HandoffStore } from "./handoff-store";
import type { SessionStore } from "./session";
import { notify } from "./notify";
import { hashPassword, verifyPassword } from "./password";
import { recordSecurityEvent } from "./security-events";
import type { AccountThrottle } from "./throttle";

// Fresh authentication for sensitive actions (ASVS 5, V7): forgetting a device and approving a QR
// handoff need the password entered in this session within REAUTH_MINUTES; otherwise FORBIDDEN with
// data.reason "reauth_required", and the page asks for the password inline. Changing the password
// and the emergency lockout take the current password in their own input. Every password entered
// here counts toward the account's throttle, so a stolen session cannot guess it either.

export interface ReauthDeps extends AuthDeps {
  throttle: AccountThrottle;
  handoffs: HandoffStore;
  approvals: ApprovalStore;
  config: AuthDeps["config"] & { reauthMs: number };
}

export const REAUTH_REQUIRED = "reauth_required";

export async function requireRecentAuth(sessions: SessionStore, sessionId: string, reauthMs: number): Promise<void> {
  if (!(await sessions.recentlyAuthenticated(sessionId, reauthMs))) {
    throw new AuthError("FORBIDDEN", "For your security, enter your password again to do this.", undefined, REAUTH_REQUIRED);
  }
}

async function checkPassword(deps: ReauthDeps, actor: Actor, password: string, failureType: "reauth_failed" | "password_change_failed") {
  const user = await deps.db.user.findUnique({ where: { id: actor.userId }, select: { email: true, passwordHash: true } });
  if (!user) throw new AuthError("UNAUTHORIZED", "You are not signed in, or your session has ended.");
  const attempt = await deps.throttle.beginAttempt(user.email);
  if (!attempt.allowed) {
    const retryAfter = Math.max(1, Math.ceil(attempt.retryAfterMs / 1000));
    throw new AuthError("TOO_MANY_REQUESTS", `Too many wrong passwords for this account. Try again in ${retryAfter} s.`, retryAfter);
  }
  if (!(await verifyPassword(user.passwordHash, password))) {
    await recordSecurityEvent(deps.db, { type: failureType, userId: actor.userId, sessionId: actor.sessionId, ip: actor.ip });
    throw new AuthError("BAD_REQUEST", "Wrong password.", undefined, "wrong_password");
  }
  await deps.throttle.reset(user.email);
  return user;
}

/** The password again: sensitive actions are allowed in this session for REAUTH_MINUTES. */
export async function reauthenticate(deps: ReauthDeps, actor: Actor, password: string) {
  await checkPassword(deps, actor, password, "reauth_failed");
  await deps.sessions.markAuthenticated(actor.sessionId, deps.config.reauthMs);
  await recordSecurityEvent(deps.db, { type: "reauthenticated", userId: actor.userId, sessionId: actor.sessionId, ip: actor.ip });
  return { ok: true as const, validUntil: new Date(Date.now() + deps.config.reauthMs) };
}

/**
 * account.changePassword (ASVS 7.4.3): the current password, a new one by the registration rules,
 * and optionally every other session ended (cookie and token sessions alike).
 */
export async function changePassword(
  deps: ReauthDeps,
  actor: Actor,
  input: { currentPassword: string; newPassword: string; signOutOtherSessions: boolean },
) {
  const user = await checkPassword(deps, actor, input.currentPassword, "password_change_failed");
  const parsed = newPasswordInput.safeParse(input.newPassword);
  if (!parsed.success) throw new AuthError("BAD_REQUEST", parsed.error.issues[0]!.message);
  if (input.newPassword === input.currentPassword) throw new AuthError("BAD_REQUEST", "The new password must differ from the current one.");
  await deps.db.user.update({ where: { id: actor.userId }, data: { passwordHash: await hashPassword(input.newPassword) } });
  let ended: string[] = [];
  if (input.signOutOtherSessions) {
    ended = await deps.sessions.deleteUserSessions(actor.userId, { except: actor.sessionId });
    await deps.handoffs.cancelForUser(actor.userId);
    await cancelApprovals(deps, actor.userId);
    if (ended.length) await deps.events.publish(actor.userId, { type: "revoked", sessionIds: ended, reason: "password_changed" });
  }
  await deps.sessions.markAuthenticated(actor.sessionId, deps.config.reauthMs);
  await recordSecurityEvent(deps.db, { type: "password_changed", userId: actor.userId, sessionId: actor.sessionId, ip: actor.ip, detail: { signedOut: ended } });
  notify.passwordChanged(deps.mailer, user.email, { ip: actor.ip, place: await locate(actor.ip) }, ended.length);
  return { ok: true as const, signedOutSessions: ended.length };
}
