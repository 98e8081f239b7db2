import { confirmPassword, hashNewPassword } from "~/server/account/reauth";
import { AuthError } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import { notify } from "~/server/security/notify";
import type { AccountThrottle } from "~/server/security/throttle";
import { endEverything } from "~/server/sessions/end-everything";
import { removeAllPasskeys } from "~/server/passkeys/passkeys";
import type { Actor, OwnRecordsDeps } from "~/server/auth/types";

/**
 * Emergency lockout ("someone is in my account"): with the current password (throttled like a
 * sign-in), ends every session of the user, this one included, and every sign-in in flight (the
 * epoch, sessions/store.ts); cancels open QR handoffs and approval requests; and drops the trust of every
 * device, so the next sign-in anywhere is a new device (the first gets a session, the others need
 * its approval). With `newPassword` the password changes in the same step: it is written before the
 * sessions end, so a sign-in that checked the old password cannot land after the lockout either.
 */
export async function lockout(deps: OwnRecordsDeps & { throttle: AccountThrottle }, actor: Actor, input: { password: string; newPassword?: string }) {
  const user = await confirmPassword(deps, actor, input.password, {
    type: "lockout_failed",
    wrong: () => new AuthError("UNAUTHORIZED", "Wrong password. Nothing was changed.", { reason: "wrong_password" }),
  });
  if (input.newPassword !== undefined) {
    const passwordHash = await hashNewPassword(input.password, input.newPassword);
    await deps.db.user.update({ where: { id: actor.userId }, data: { passwordHash } });
  }
  const passwordChanged = input.newPassword !== undefined;
  // Someone in the account may have registered a passkey of their own: every passkey goes, before
  // the sessions end (a passkey sign-in in flight then finds its passkey gone or its epoch moved on).
  const removedPasskeys = await removeAllPasskeys(deps, actor.userId);
  const where = { ip: actor.ip, place: await locate(actor.ip) };
  const ended = await endEverything(deps, {
    userId: actor.userId,
    reason: "lockout",
    passwordChanged,
    cancelPending: true,
    distrustDevices: true,
    report: (ended) => ({
      audit: [
        {
          type: "lockout",
          sessionId: actor.sessionId,
          ip: actor.ip,
          detail: {
            ended: ended.sessions,
            cancelledHandoffs: ended.cancelledHandoffs,
            cancelledApprovals: ended.cancelledApprovals,
            distrustedDevices: ended.distrustedDevices,
            passwordChanged,
            removedPasskeys,
          },
        },
        passwordChanged && { type: "password_changed", sessionId: actor.sessionId, ip: actor.ip, detail: { by: "lockout" } },
      ],
      live: removedPasskeys.length > 0 && { type: "passkeys_changed" },
      mail: [
        { to: user.email, message: notify.lockout(where, ended.sessions.length) },
        passwordChanged && { to: user.email, message: notify.passwordChanged(where, 0) },
      ],
    }),
  });
  return { ended: ended.sessions.length, passwordChanged, distrustedDevices: ended.distrustedDevices.length, removedPasskeys: removedPasskeys.length };
}
