import { approvalIfNeeded } from "~/server/approvals/new-device";
import { AuthError } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import { recordLoginEvent } from "~/server/auth/login-events";
import { checkPassword, SIGN_IN_WORDING, type AccountThrottle } from "~/server/security/throttle";
import { sha256 } from "~/server/platform/crypto";
import { notify } from "~/server/security/notify";
import { report } from "~/server/security/report";
import { INVALID_CREDENTIALS, startSession } from "~/server/auth/start-session";
import type { ApprovalDeps, ApprovalRequired, AuthDeps, ClientInfo, SignedIn } from "~/server/auth/types";
import { requireSecondFactor, type SecondFactorRequired, type TwoFactorDeps } from "~/server/two-factor/two-factor";

/**
 * The owner is told once, when waiting starts: a security event, their open pages, an email.
 */
async function tellThrottlingStarts(deps: ApprovalDeps, user: { id: string; email: string }, client: ClientInfo, attempts: number) {
  const place = await locate(client.ip);
  await report(deps, {
    userId: user.id,
    audit: { type: "account_throttled", ip: client.ip, detail: { attempts } },
    live: { type: "sign_in_throttled", attempts, ip: client.ip, location: place.label },
    mail: { to: user.email, message: notify.throttled({ ip: client.ip, place }, attempts) },
  });
}

/**
 * Password sign-in. With two-factor authentication on, a correct password answers a challenge for
 * the second factor instead (two-factor/two-factor.ts, verifySecondFactor). With new-device approval on, a correct password from an unknown browser while
 * the user is signed in elsewhere returns an approval request instead of a session. The per-IP
 * limit is declared on its procedures (auth.login, tokens.issue).
 */
export async function login(
  deps: TwoFactorDeps & { throttle: AccountThrottle },
  input: { email: string; password: string },
  client: ClientInfo,
  // Bearer-token clients sign in the same way and get a session of method "token".
  as: { method: "password" | "token"; deviceName?: string } = { method: "password" },
): Promise<SignedIn | ApprovalRequired | SecondFactorRequired> {
  // The account and, in the same query, whether this browser (or app) is one of its devices.
  const found = await deps.db.user.findUnique({
    where: { email: input.email },
    select: {
      id: true,
      email: true,
      emailVerifiedAt: true,
      passwordHash: true,
      devices: { where: { cookieHash: sha256(client.deviceCookie), forgottenAt: null }, select: { id: true } },
      twoFactor: { select: { userId: true } },
    },
  });
  const user = found && {
    id: found.id,
    email: found.email,
    emailVerified: found.emailVerifiedAt !== null,
    passwordHash: found.passwordHash,
    knownDevice: found.devices.length > 0,
  };
  // Throttled per account (see security/throttle.ts) before the password is checked. A browser or app this
  // user already signed in with is exempt: throttling slows guessers down without locking the
  // owner out of their own devices. Unknown emails are checked against a dummy hash: same error,
  // same time, same throttle.
  const valid = await checkPassword(deps.throttle, {
    email: input.email,
    ip: client.ip,
    storedHash: user?.passwordHash,
    password: input.password,
    exempt: user?.knownDevice,
    wording: SIGN_IN_WORDING,
    onThrottled: () =>
      recordLoginEvent(deps.db, { userId: user?.id ?? null, email: input.email, client, method: as.method, outcome: "blocked", reason: "account_throttled" }),
    onThrottlingStarts: async (attempts) => {
      if (user) await tellThrottlingStarts(deps, user, client, attempts);
    },
  });
  if (!user || !valid) {
    await recordLoginEvent(deps.db, {
      userId: user?.id ?? null,
      email: input.email,
      client,
      method: as.method,
      outcome: "failure",
      reason: user ? "wrong_password" : "unknown_email",
    });
    throw new AuthError("UNAUTHORIZED", INVALID_CREDENTIALS, { reason: "invalid_credentials" });
  }
  const epoch = await epochBehindPassword(deps, user);
  // Two-factor first: new-device approval (and the session) come after the second factor.
  if (found?.twoFactor) return requireSecondFactor(deps, user, client, { epoch, method: as.method, deviceName: as.deviceName ?? "" });
  const approval = await approvalIfNeeded(deps, { id: user.id, email: user.email, knownDevice: user.knownDevice }, client, as.method, as.deviceName);
  if (approval) return approval;
  return startSession(deps, { id: user.id, email: user.email, emailVerified: user.emailVerified }, client, as.method, {
    deviceName: as.deviceName,
    epoch,
    knownDevice: user.knownDevice,
  });
}

/**
 * The session epoch for a sign-in whose password was just checked against `user.passwordHash`.
 * Read first, then the hash again: a lockout (or password change) that ends every session after
 * this read bumps the epoch and the session is refused; one that changed the password before it
 * shows as a different hash here. Either way a password checked before cannot sign in after.
 */
async function epochBehindPassword(deps: AuthDeps, user: { id: string; passwordHash: string }): Promise<number> {
  const epoch = await deps.sessions.currentEpoch(user.id);
  const now = await deps.db.user.findUnique({ where: { id: user.id }, select: { passwordHash: true } });
  if (now?.passwordHash !== user.passwordHash) throw new AuthError("UNAUTHORIZED", INVALID_CREDENTIALS, { reason: "invalid_credentials" });
  return epoch;
}
