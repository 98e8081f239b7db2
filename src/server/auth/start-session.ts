import type { LoginMethod } from "~/generated/prisma/enums";
import type { Db } from "~/server/platform/db";
import { deviceNameOf, recordDeviceSignIn } from "~/server/devices/device";
import { AuthError, isAuthError, isErrorNamed } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import { amendLoginEvent, countSignIn, recordLoginEvent } from "./login-events";
import { logger } from "~/server/platform/logger";
import { notify } from "~/server/security/notify";
import { report } from "~/server/security/report";
import type { CreateConditions, ParentSessionEndedError, SessionCap, SessionEpochChangedError, SessionLimitError } from "~/server/sessions/store";
import { assessSignIn } from "~/server/security/suspicious";
import { sha256 } from "~/server/platform/crypto";
import { catchUpVerification } from "~/server/account/account-status";
import type { AuthDeps, ClientInfo, SessionUser, SignedIn } from "./types";

async function isKnownDevice(db: Db, userId: string, deviceCookie: string): Promise<boolean> {
  return (await db.device.count({ where: { userId, cookieHash: sha256(deviceCookie), forgottenAt: null } })) > 0;
}

/**
 * Opens a session for a user whose identity is established: records the device and IP, enforces
 * the session cap (atomically, in Redis), flags a suspicious sign-in (security/suspicious.ts), logs it,
 * tells the user's other pages, and emails the owner about a new device or a suspicious sign-in.
 */
/** What a sign-in answers when the account is gone: as for an unknown address, for password sign-ins. */
export const INVALID_CREDENTIALS = "Invalid email or password";

export async function startSession(
  deps: AuthDeps,
  user: SessionUser,
  client: ClientInfo,
  method: LoginMethod,
  options: Parameters<typeof openSession>[4] = {},
): Promise<SignedIn> {
  try {
    return await openSession(deps, user, client, method, options);
  } catch (error) {
    // The account was deleted while this sign-in ran (account.delete): its rows are gone, so
    // recording the device or the sign-in failed on a foreign key. Every way in answers so.
    if (isAuthError(error) || (await deps.db.user.count({ where: { id: user.id } }))) throw error;
    throw accountGone(method);
  }
}

/** What a sign-in answers when the account is gone: as for an unknown address, for password sign-ins. */
function accountGone(method: LoginMethod): AuthError {
  if (method === "password" || method === "token") return new AuthError("UNAUTHORIZED", INVALID_CREDENTIALS, { reason: "invalid_credentials" });
  return new AuthError("UNAUTHORIZED", "This account no longer exists.", { reason: "not_signed_in" });
}

async function openSession(
  deps: AuthDeps,
  user: SessionUser,
  client: ClientInfo,
  method: LoginMethod,
  options: {
    deviceName?: string;
    /** The password was entered for this session (sensitive actions need no re-authentication at first). Default: password and token sign-ins. */
    freshAuthentication?: boolean;
    /** Refuse at the session cap instead of evicting (a session minted from another must not push the owner's devices out). */
    neverEvict?: boolean;
    /** Whether the browser is already one of the user's devices, when the caller looked it up. */
    knownDevice?: boolean;
    /**
     * The hash the password was checked against, after the session epoch was read (auth/sign-in.ts):
     * the device and the sign-in are recorded only while it is still the account's, else the answer
     * is invalid credentials.
     */
    passwordHash?: string;
  } & CreateConditions = {},
): Promise<SignedIn> {
  let deviceCookie = client.deviceCookie;
  if (client.reissueDeviceCookie && !(options.knownDevice ?? (await isKnownDevice(deps.db, user.id, deviceCookie)))) {
    // The browser becomes trusted under a cookie issued now, so a copy of the one it had (which
    // someone may have planted) is worth nothing. A double submit shares the nonce, so one device.
    deviceCookie = client.reissueDeviceCookie(await deps.deviceCache.trustNonce(user.id, sha256(deviceCookie)));
  }
  // One statement: the device, the address, what the account did before, and this sign-in's
  // history row (as a success; amended below if the session is refused or looks suspicious).
  const device = await recordDeviceSignIn(deps.db, {
    userId: user.id,
    deviceCookie,
    userAgent: client.userAgent,
    ip: client.ip,
    name: options.deviceName,
    passwordHash: options.passwordHash,
    signIn: { email: user.email, method },
  });
  if (!device) {
    if (options.passwordHash === undefined) throw accountGone(method);
    // The password changed after it was checked (or the account is gone: then this insert fails on
    // its foreign key, and startSession answers for a gone account, with the same words).
    await recordLoginEvent(deps.db, { userId: user.id, email: user.email, client, method, outcome: "failure", reason: "password_changed" });
    throw new AuthError("UNAUTHORIZED", INVALID_CREDENTIALS, { reason: "invalid_credentials" });
  }
  const cap: SessionCap = options.neverEvict ? { ...deps.config.sessionCap, policy: "reject" } : deps.config.sessionCap;
  const fresh = options.freshAuthentication ?? (method === "password" || method === "token");
  let created;
  try {
    created = await deps.sessions.createSession(
      { userId: user.id, email: user.email, emailVerified: user.emailVerified, deviceId: device.id, ip: client.ip, method },
      cap,
      { parentSessionId: options.parentSessionId, epoch: options.epoch },
      // In the same script: the fresh-authentication mark, and the device list's new version
      // (after the statement above committed, as the device cache needs).
      { freshForMs: fresh ? deps.config.reauthMs : undefined, writes: [deps.deviceCache.invalidation(user.id)] },
    );
  } catch (error) {
    const refused = refusedBecause(error);
    const limited = isErrorNamed<SessionLimitError>(error, "SessionLimitError");
    countSignIn({ userId: user.id, method, outcome: "blocked" });
    // The history row first, then the device list's version (the device row was written all the
    // same): a list read in between is cached under a version that is then replaced. After an
    // unexpected failure (Redis unreachable) both are best effort, and the failure is the answer.
    const bestEffort = (what: string) => (secondary: unknown) => {
      if (refused || limited) throw secondary;
      logger().warn({ err: secondary }, `a refused sign-in: could not ${what}`);
    };
    const reason = refused ? refused.reason : limited ? "session_limit" : "session_not_created";
    await amendLoginEvent(deps.db, device.loginEventId, { outcome: "blocked", reason }).catch(bestEffort("mark it blocked in the history"));
    await deps.deviceCache.invalidate(user.id).catch(bestEffort("renew the device list's version"));
    if (refused) throw refused;
    if (!limited) throw error;
    await report(deps, {
      userId: user.id,
      audit: { type: "session_limit_rejected", deviceId: device.id, ip: client.ip, detail: { active: error.active, limit: error.limit } },
    });
    throw new AuthError("TOO_MANY_REQUESTS", error.message, { reason: "session_limit" });
  }
  countSignIn({ userId: user.id, method, outcome: "success" });
  const { token, session, evicted, evictedDevices } = created;
  const [place] = await Promise.all([locate(client.ip), user.emailVerified || catchUpVerification(deps, user.id)]);
  const warning = (await assessSignIn(device.history, { place, newDevice: device.isNew, at: session.createdAt })) ?? undefined;
  if (warning) await amendLoginEvent(deps.db, device.loginEventId, { suspicious: warning.reason });
  const where = { deviceName: device.name, ip: client.ip, place, at: session.createdAt };
  await report(deps, {
    userId: user.id,
    audit: [
      ...evicted.map((sessionId) => ({
        type: "session_evicted" as const,
        sessionId,
        ip: client.ip,
        detail: { by: session.id, limit: deps.config.sessionCap.limit },
      })),
      warning && { type: "suspicious_sign_in", sessionId: session.id, deviceId: device.id, ip: client.ip, detail: { reason: warning.reason } },
    ],
    live: [
      evicted.length > 0 && { type: "revoked", sessionIds: evicted, reason: "evicted" },
      {
        type: "signed_in",
        sessionId: session.id,
        deviceId: device.id,
        deviceName: device.name,
        method,
        ip: client.ip,
        location: place.label,
        ...(warning ? { warning: warning.message } : {}),
      },
    ],
    // A suspicious sign-in is told as such; otherwise a new device, unless it is the account's first.
    mail: warning
      ? { to: user.email, message: notify.suspiciousSignIn(where, warning.message) }
      : device.isNew && device.history.addresses.length > 0 && { to: user.email, message: notify.newDeviceSignIn(where) },
  });
  return {
    user,
    session,
    token,
    ...(warning ? { warning } : {}),
    signedOut: evictedDevices.length ? { deviceName: await deviceNameOf(deps.db, evictedDevices[0]!) } : null,
  };
}

/** A session that may no longer be created (see CreateConditions), as the caller's answer. */
function refusedBecause(error: unknown): AuthError | null {
  if (isErrorNamed<ParentSessionEndedError>(error, "ParentSessionEndedError")) {
    return new AuthError("UNAUTHORIZED", "The session that allowed this sign-in has ended. Sign in again.", { reason: "parent_session_ended" });
  }
  if (isErrorNamed<SessionEpochChangedError>(error, "SessionEpochChangedError")) {
    return new AuthError("UNAUTHORIZED", "Every session of this account was just ended. Sign in again.", { reason: "sessions_ended" });
  }
  return null;
}
