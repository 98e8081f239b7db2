import type { AccountDeps } from "~/server/account/deps";
import type { Actor } from "~/server/auth/types";
import { listPasskeys } from "~/server/passkeys/passkeys";
import { AuthError } from "~/server/platform/errors";
import { report } from "~/server/security/report";
import { twoFactorStatus } from "~/server/two-factor/two-factor";

// account.exportData ("Download my data"): everything stored about the user, as one JSON document:
// profile, devices (forgotten ones too), the addresses they signed in from, live sessions, the
// whole sign-in history and every security event. Secrets and their digests (password hash,
// device-cookie hashes, session secrets, the TOTP secret, recovery-code hashes) are not data about the person and stay out.
const EXPORT_FORMAT = "handoff-export/1";

export async function exportData(deps: AccountDeps, actor: Actor) {
  // Written first, so the export includes its own record.
  await report(deps, { userId: actor.userId, audit: { type: "data_exported", sessionId: actor.sessionId, ip: actor.ip } });
  const { userId } = actor;
  const [user, devices, addresses, signIns, securityEvents, sessions, passkeys, twoFactor] = await Promise.all([
    deps.db.user.findUnique({ where: { id: userId }, select: { id: true, email: true, emailVerifiedAt: true, createdAt: true, updatedAt: true } }),
    deps.db.device.findMany({
      where: { userId },
      orderBy: { firstSeenAt: "asc" },
      select: { id: true, name: true, userAgent: true, browser: true, os: true, deviceType: true, firstSeenAt: true, lastSeenAt: true, forgottenAt: true },
    }),
    deps.db.ipAddress.findMany({ where: { userId }, orderBy: { firstSeenAt: "asc" }, select: { address: true, firstSeenAt: true, lastSeenAt: true } }),
    deps.db.loginEvent.findMany({
      where: { userId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      select: {
        id: true,
        createdAt: true,
        email: true,
        method: true,
        outcome: true,
        reason: true,
        suspicious: true,
        ip: true,
        userAgent: true,
        deviceId: true,
      },
    }),
    deps.db.securityEvent.findMany({
      where: { userId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      select: { id: true, createdAt: true, type: true, ip: true, sessionId: true, deviceId: true, detail: true },
    }),
    deps.sessions.listUserSessions(userId),
    listPasskeys(deps, userId),
    twoFactorStatus(deps, userId),
  ]);
  if (!user) throw new AuthError("UNAUTHORIZED", "You are not signed in, or your session has ended.", { reason: "not_signed_in" });
  return {
    format: EXPORT_FORMAT,
    exportedAt: new Date(),
    profile: user,
    devices,
    addresses,
    sessions: sessions.map((s) => ({
      id: s.id,
      current: s.id === actor.sessionId,
      method: s.method,
      deviceId: s.deviceId,
      ip: s.ip,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      idleExpiresAt: s.idleExpiresAt,
      absoluteExpiresAt: s.absoluteExpiresAt,
    })),
    signInHistory: signIns,
    securityEvents,
    /** Names, providers and dates only: no credential id or public key. */
    passkeys,
    // Whether it is on and how many recovery codes are unused; never the secret or the codes.
    twoFactor,
  };
}
