import { approvalIfNeeded } from "~/server/approvals/new-device";
import type { Db } from "~/server/platform/db";
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
  const user = await findAccount(deps.db, input.email, sha256(client.deviceCookie));
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
  // The epoch first, then the password hash again (see passwordStillCurrent): a lockout after this
  // read moves the epoch on and the session is refused; a password change before it shows as a
  // different hash.
  const epoch = await deps.sessions.currentEpoch(user.id);
  // Two-factor first: new-device approval (and the session) come after the second factor.
  if (user.hasTwoFactor) {
    await passwordStillCurrent(deps, user);
    return requireSecondFactor(deps, user, client, { epoch, method: as.method, deviceName: as.deviceName ?? "" });
  }
  if (deps.config.newDeviceApproval && !user.knownDevice) {
    await passwordStillCurrent(deps, user);
    const approval = await approvalIfNeeded(deps, { id: user.id, email: user.email, knownDevice: user.knownDevice }, client, as.method, as.deviceName);
    if (approval) return approval;
  }
  // The session's own path checks the hash again in the statement that records the device and the
  // sign-in (devices/device.ts), after the epoch was read: one database round trip, not two.
  return startSession(deps, { id: user.id, email: user.email, emailVerified: user.emailVerified }, client, as.method, {
    deviceName: as.deviceName,
    epoch,
    knownDevice: user.knownDevice,
    passwordHash: user.passwordHash,
  });
}

/**
 * The account of a sign-in, with whether this browser (or app) is one of its devices and whether
 * it has a second factor: one statement (Prisma's relation loading would send three).
 */
async function findAccount(db: Db, email: string, deviceCookieHash: string) {
  const [row] = await db.$queryRaw<{ id: string; email: string; emailVerified: boolean; passwordHash: string; knownDevice: boolean; hasTwoFactor: boolean }[]>`
    SELECT "u"."id"::text AS "id", "u"."email", ("u"."emailVerifiedAt" IS NOT NULL) AS "emailVerified", "u"."passwordHash",
      EXISTS (SELECT 1 FROM "Device" "d" WHERE "d"."userId" = "u"."id" AND "d"."cookieHash" = ${deviceCookieHash} AND "d"."forgottenAt" IS NULL) AS "knownDevice",
      EXISTS (SELECT 1 FROM "TwoFactor" "t" WHERE "t"."userId" = "u"."id") AS "hasTwoFactor"
    FROM "User" "u" WHERE "u"."email" = ${email}`;
  return row ?? null;
}

/**
 * For a sign-in whose password was just checked against `user.passwordHash`, after the session
 * epoch was read: the hash again. A lockout (or password change) that ends every session after
 * the epoch's read moves it on and the session is refused; one that changed the password before
 * shows as a different hash here. Either way a password checked before cannot sign in after.
 */
async function passwordStillCurrent(deps: AuthDeps, user: { id: string; passwordHash: string }): Promise<void> {
  const now = await deps.db.user.findUnique({ where: { id: user.id }, select: { passwordHash: true } });
  if (now?.passwordHash !== user.passwordHash) throw new AuthError("UNAUTHORIZED", INVALID_CREDENTIALS, { reason: "invalid_credentials" });
}
