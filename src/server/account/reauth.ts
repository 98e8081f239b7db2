import { newPasswordInput } from "~/lib/credentials";
import type { ApprovalStore } from "~/server/approvals/store";
import { AuthError } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import type { HandoffStore } from "~/server/handoff/store";
import type { SessionStore } from "~/server/sessions/store";
import { notify } from "~/server/security/notify";
import { hashPassword } from "~/server/platform/password";
import { report } from "~/server/security/report";
import { endEverything } from "~/server/sessions/end-everything";
import { checkPassword, PASSWORD_WORDING, type AccountThrottle } from "~/server/security/throttle";
import type { Actor, AuthDeps } from "~/server/auth/types";
import { confirmSecondFactor, enabledSecret, secondFactorCodeRequired, type TwoFactorDeps } from "~/server/two-factor/two-factor";

// Fresh authentication for sensitive actions (ASVS 5, V7): forgetting a device and approving a QR
// handoff need the password (plus a code when two-factor is on, or a passkey) entered in this session within REAUTH_MINUTES; otherwise FORBIDDEN with
// data.reason "reauth_required", and the page asks for the password inline. Changing the password
// and deleting the account take the current password (and code) in their own input; the emergency
// lockout takes the password alone (it ends the caller's session too, and is what an owner without their phone needs). Every password entered
// here goes through the account's throttle (security/throttle.ts), so a stolen session cannot guess it either.

export interface ReauthDeps extends AuthDeps {
  throttle: AccountThrottle;
  handoffs: HandoffStore;
  approvals: ApprovalStore;
}

const REAUTH_REQUIRED = "reauth_required";

export async function requireRecentAuth(sessions: SessionStore, sessionId: string, reauthMs: number): Promise<void> {
  if (!(await sessions.recentlyAuthenticated(sessionId, reauthMs))) {
    throw new AuthError("FORBIDDEN", "For your security, enter your password again to do this.", { reason: REAUTH_REQUIRED });
  }
}

/**
 * The signed-in user's current password, checked through the throttle (counted per session, see
 * PasswordCheck.throttleKey) and the admission limit like a sign-in (security/throttle.ts). Returns the user; a wrong password is recorded as
 * `failureType` and answered with `wrong()` (each action keeps its own wording).
 */
export async function confirmPassword(
  deps: Pick<ReauthDeps, "db" | "events" | "mailer" | "throttle">,
  actor: Actor,
  password: string,
  failure: { type: "reauth_failed" | "password_change_failed" | "lockout_failed"; wrong(): AuthError },
) {
  const user = await deps.db.user.findUnique({ where: { id: actor.userId }, select: { email: true, passwordHash: true } });
  if (!user) throw new AuthError("UNAUTHORIZED", "You are not signed in, or your session has ended.", { reason: "not_signed_in" });
  const right = await checkPassword(deps.throttle, {
    email: user.email,
    throttleKey: `session:${actor.sessionId}`,
    ip: actor.ip,
    storedHash: user.passwordHash,
    password,
    wording: PASSWORD_WORDING,
  });
  if (!right) {
    await report(deps, { userId: actor.userId, audit: { type: failure.type, sessionId: actor.sessionId, ip: actor.ip } });
    throw failure.wrong();
  }
  return user;
}

/**
 * The password and, when two-factor is on, a current code (TOTP or recovery code): what sign-in
 * would ask for, required by re-authentication and by the actions that take the password in their
 * own input and give lasting control (changing the password, deleting the account). Whether a code
 * is needed is answered before the password is checked, so a form can ask for both without a guess spent.
 */
export async function confirmPasswordAndCode(
  deps: Pick<ReauthDeps, "db" | "events" | "mailer" | "throttle"> & TwoFactorDeps,
  actor: Actor,
  input: { password: string; code?: string },
  failure: Parameters<typeof confirmPassword>[3],
) {
  // One read of the two-factor row serves both the "is a code needed" answer and the code check.
  const twoFactor = await enabledSecret(deps, actor.userId);
  if (twoFactor && input.code === undefined) throw secondFactorCodeRequired();
  const user = await confirmPassword(deps, actor, input.password, failure);
  if (twoFactor) await confirmSecondFactor(deps, actor, user.email, input.code!, twoFactor);
  return { user };
}

const wrongPassword = () => new AuthError("BAD_REQUEST", "Wrong password.", { reason: "wrong_password" });

/** A new password by the registration rules, different from the current one: its hash. */
export async function hashNewPassword(currentPassword: string, newPassword: string): Promise<string> {
  const parsed = newPasswordInput.safeParse(newPassword);
  if (!parsed.success) throw new AuthError("BAD_REQUEST", parsed.error.issues[0]!.message, { reason: "password_rejected" });
  if (newPassword === currentPassword)
    throw new AuthError("BAD_REQUEST", "The new password must differ from the current one.", { reason: "password_unchanged" });
  return hashPassword(newPassword);
}

/**
 * The password again (and, with two-factor on, a current code: sign-in would have asked for both):
 * sensitive actions are allowed in this session for REAUTH_MINUTES. Whether a code is needed is
 * answered before the password is checked, so the form can ask for both without spending a guess.
 */
export async function reauthenticate(deps: ReauthDeps & TwoFactorDeps, actor: Actor, input: { password: string; code?: string }) {
  await confirmPasswordAndCode(deps, actor, input, { type: "reauth_failed", wrong: wrongPassword });
  await deps.sessions.markAuthenticated(actor.sessionId, deps.config.reauthMs);
  await report(deps, { userId: actor.userId, audit: { type: "reauthenticated", sessionId: actor.sessionId, ip: actor.ip } });
  return { ok: true as const, validUntil: new Date(Date.now() + deps.config.reauthMs) };
}

/**
 * account.changePassword (ASVS 7.4.3): the current password, a new one by the registration rules,
 * and optionally every other session ended (cookie and token sessions alike).
 */
export async function changePassword(
  deps: ReauthDeps & TwoFactorDeps,
  actor: Actor,
  input: { currentPassword: string; newPassword: string; signOutOtherSessions: boolean; code?: string },
) {
  const { user } = await confirmPasswordAndCode(
    deps,
    actor,
    { password: input.currentPassword, code: input.code },
    { type: "password_change_failed", wrong: wrongPassword },
  );
  const passwordHash = await hashNewPassword(input.currentPassword, input.newPassword);
  const updated = await deps.db.user.updateMany({ where: { id: actor.userId }, data: { passwordHash } });
  // The account was deleted meanwhile (account.delete from another session).
  if (updated.count === 0) throw new AuthError("UNAUTHORIZED", "You are not signed in, or your session has ended.", { reason: "not_signed_in" });
  const place = await locate(actor.ip);
  const told = (ended: string[]) => ({
    audit: { type: "password_changed" as const, sessionId: actor.sessionId, ip: actor.ip, detail: { signedOut: ended } },
    mail: { to: user.email, message: notify.passwordChanged({ ip: actor.ip, place }, ended.length) },
  });
  // Every other session ends, and what they could still have opened: QR handoffs and approval
  // requests; the audit row is written before the pages are told (report's order).
  const ended = input.signOutOtherSessions
    ? (
        await endEverything(deps, {
          userId: actor.userId,
          reason: "password_changed",
          keepSessionId: actor.sessionId,
          cancelPending: true,
          report: (e) => told(e.sessions),
        })
      ).sessions
    : [];
  if (!input.signOutOtherSessions) {
    // The other sessions stay, but a sign-in whose old password was checked before now may not
    // land after (ending the sessions moves the epoch too).
    await deps.sessions.moveEpoch(actor.userId);
    await report(deps, { userId: actor.userId, ...told([]) });
  }
  await deps.sessions.markAuthenticated(actor.sessionId, deps.config.reauthMs);
  return { ok: true as const, signedOutSessions: ended.length };
}
