import { approvalIfNeeded } from "~/server/approvals/new-device";
import { recordLoginEvent } from "~/server/auth/login-events";
import { startSession } from "~/server/auth/start-session";
import type { Actor, ApprovalDeps, ApprovalRequired, ClientInfo, SignedIn } from "~/server/auth/types";
import { randomToken, sha256 } from "~/server/platform/crypto";
import { AuthError } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import { SECOND_FACTOR_ATTEMPTS } from "~/server/policy";
import { notify } from "~/server/security/notify";
import { report } from "~/server/security/report";
import type { AccountThrottle } from "~/server/security/throttle";
import type { ChallengeState, TwoFactorStore } from "./store";
import {
  legacyRecoveryCodeHash,
  looksLikeTotp,
  matchingTimeStep,
  newRecoveryCodes,
  newTotpSecret,
  recoveryCodeHash,
  sealTotpSecret,
  totpUri,
  unsealTotpSecret,
} from "./totp";

// Two-factor authentication (TOTP + recovery codes). Turning it on: twoFactor.setup shows a new
// secret (kept in Redis, sealed, until confirmed), twoFactor.enable confirms it with a first code
// and stores it sealed in PostgreSQL with 10 hashed recovery codes. Signing in: a correct password
// on an account with two-factor answers a challenge (src/server/auth/sign-in.ts) instead of a
// session; verifySecondFactor takes a TOTP or a recovery code for it and continues exactly where
// the password sign-in would have: new-device approval, then the session.
// Neither a password reset nor an emergency lockout turns two-factor off: both are what someone
// holding only the password could trigger or want.

export interface TwoFactorDeps extends ApprovalDeps {
  twoFactor: TwoFactorStore;
  throttle: AccountThrottle;
  config: ApprovalDeps["config"] & { sessionSecret: string };
}

export interface SecondFactorRequired {
  status: "second_factor_required";
  challengeId: string;
  expiresAt: Date;
  /** For the browser's cookie only (the challenge is bound to it); never returned to the client. */
  browserSecret: string;
}

const wrongCode = (left: number) =>
  new AuthError(
    "BAD_REQUEST",
    left > 0
      ? `That code is not right (or was already used). ${left} ${left === 1 ? "attempt" : "attempts"} left.`
      : "That code is not right (or was already used). No attempts left: sign in again.",
    { reason: "wrong_second_factor_code" },
  );
const wrongCodeForChange = () =>
  new AuthError("BAD_REQUEST", "That code is not right (or was already used). Enter the current code from your authenticator app.", {
    reason: "wrong_second_factor_code",
  });
const challengeInvalid = () =>
  new AuthError("BAD_REQUEST", "This sign-in has expired or is no longer valid. Sign in again.", { reason: "second_factor_invalid" });
const notEnabled = () => new AuthError("BAD_REQUEST", "Two-factor authentication is not turned on.", { reason: "two_factor_not_enabled" });
const alreadyEnabled = () => new AuthError("CONFLICT", "Two-factor authentication is already turned on.", { reason: "two_factor_already_enabled" });

export const secondFactorCodeRequired = () =>
  new AuthError("BAD_REQUEST", "Two-factor authentication is on: enter the code from your authenticator app (or a recovery code) with your password.", {
    reason: "second_factor_code_required",
  });

/**
 * What the throttle counts code checks under (security/throttle.ts). At sign-in: the account's
 * second factor, except on the owner's known devices, which count apart (as the password throttle
 * exempts them), so someone holding the password cannot keep the owner waiting at the code step;
 * a stolen password buys new challenges, not faster guessing. Inside a session (enable, disable,
 * re-authentication): that session, so guesses elsewhere do not delay the signed-in owner.
 */
const throttleKeys = {
  signIn: (userId: string, knownDeviceId: string | undefined) =>
    knownDeviceId ? `second-factor:${userId}:device:${knownDeviceId}` : `second-factor:${userId}`,
  inSession: (actor: Actor) => `second-factor:session:${actor.sessionId}`,
};

async function throttledCheck<T>(deps: TwoFactorDeps, key: string, check: () => Promise<T | null>): Promise<T | null> {
  const attempt = await deps.throttle.beginAttempt(key);
  if (!attempt.allowed) {
    const retryAfter = Math.max(1, Math.ceil(attempt.retryAfterMs / 1000));
    throw new AuthError("TOO_MANY_REQUESTS", `Too many wrong codes for this account. Try again in ${retryAfter} s.`, {
      reason: attempt.reason,
      retryAfterSeconds: retryAfter,
    });
  }
  let result: T | null = null;
  try {
    result = await check();
    return result;
  } finally {
    await deps.throttle.finishAttempt(key, attempt.id, result !== null);
  }
}

type UsedCode = { kind: "totp"; step: number } | { kind: "recovery" };

/**
 * A TOTP code (each time step accepted once per user, ±1 step) or an unused recovery code (marked
 * used in the same statement that finds it, so a code raced twice works once). Null: wrong.
 * `sessionId`: a signed-in session's own check, which may give once more the step it has just
 * re-authenticated with (the person typed one code for "confirm and turn off").
 */
async function useCode(deps: TwoFactorDeps, userId: string, secret: string | null, code: string, sessionId?: string): Promise<UsedCode | null> {
  const typed = code.trim();
  if (looksLikeTotp(typed)) {
    if (secret === null) return null;
    const step = matchingTimeStep(secret, typed.replace(/\s/g, ""), deps.twoFactor.now());
    if (step === null) return null;
    if (await deps.twoFactor.useTimeStep(userId, step)) return { kind: "totp", step };
    return sessionId !== undefined && (await deps.twoFactor.takeReauthStep(sessionId, step)) ? { kind: "totp", step } : null;
  }
  const hashes = [recoveryCodeHash(typed, deps.config.sessionSecret), legacyRecoveryCodeHash(typed)].filter((h): h is string => h !== null);
  if (hashes.length === 0) return null;
  const spent = await deps.db.recoveryCode.updateMany({
    where: { userId, codeHash: { in: hashes }, usedAt: null },
    data: { usedAt: new Date(deps.twoFactor.now()) },
  });
  return spent.count === 1 ? { kind: "recovery" } : null;
}

/**
 * Undefined: two-factor is off. `{ secret: null }`: on, but the secret no longer unseals (SESSION_SECRET
 * changed): no TOTP code matches, a recovery code still may, and nothing counts as passed without one.
 */
export async function enabledSecret(deps: Pick<TwoFactorDeps, "db" | "config">, userId: string): Promise<{ secret: string | null } | undefined> {
  const row = await deps.db.twoFactor.findUnique({ where: { userId }, select: { sealedSecret: true } });
  return row ? { secret: unsealTotpSecret(row.sealedSecret, userId, deps.config.sessionSecret) } : undefined;
}

const recoveryCodesLeft = (deps: TwoFactorDeps, userId: string) => deps.db.recoveryCode.count({ where: { userId, usedAt: null } });

async function reportRecoveryCodeUsed(deps: TwoFactorDeps, user: { id: string; email: string }, ip: string, sessionId?: string) {
  const left = await recoveryCodesLeft(deps, user.id);
  await report(deps, {
    userId: user.id,
    audit: { type: "recovery_code_used", sessionId, ip, detail: { recoveryCodesLeft: left } },
    mail: { to: user.email, message: notify.recoveryCodeUsed({ ip, place: await locate(ip) }, left) },
  });
}

/**
 * The second half of a password re-authentication on an account with two-factor on
 * (account.reauthenticate): a current TOTP code or a recovery code, throttled under the session.
 * Without it, a session cookie plus the password could give itself lasting access (new recovery
 * codes, a passkey) that sign-in would have refused.
 */
export async function confirmSecondFactor(deps: TwoFactorDeps, actor: Actor, email: string, code: string, enabled: { secret: string | null }): Promise<void> {
  const used = await throttledCheck(deps, throttleKeys.inSession(actor), () => useCode(deps, actor.userId, enabled.secret, code));
  if (!used) {
    await report(deps, {
      userId: actor.userId,
      audit: { type: "two_factor_failed", sessionId: actor.sessionId, ip: actor.ip, detail: { action: "reauthenticate" } },
    });
    throw wrongCodeForChange();
  }
  if (used.kind === "recovery") await reportRecoveryCodeUsed(deps, { id: actor.userId, email }, actor.ip, actor.sessionId);
  else await deps.twoFactor.rememberReauthStep(actor.sessionId, used.step);
}

/** twoFactor.status and the data export: whether it is on, since when, and how many recovery codes are unused. */
export async function twoFactorStatus(deps: Pick<TwoFactorDeps, "db">, userId: string) {
  const [row, left] = await Promise.all([
    deps.db.twoFactor.findUnique({ where: { userId }, select: { enabledAt: true } }),
    deps.db.recoveryCode.count({ where: { userId, usedAt: null } }),
  ]);
  return { enabled: row !== null, enabledAt: row?.enabledAt ?? null, recoveryCodesLeft: row ? left : 0 };
}

async function where(actor: Actor) {
  return { ip: actor.ip, place: await locate(actor.ip) };
}

/** A new secret to scan: `{ secret, uri, expiresAt }` (confirm it with twoFactor.enable before expiresAt). */
export async function setupTwoFactor(deps: TwoFactorDeps, actor: Actor, email: string) {
  if (await deps.db.twoFactor.findUnique({ where: { userId: actor.userId }, select: { userId: true } })) throw alreadyEnabled();
  const secret = newTotpSecret();
  const expiresAt = await deps.twoFactor.putPendingSecret(actor.userId, sealTotpSecret(secret, actor.userId, deps.config.sessionSecret));
  return { secret, uri: totpUri(secret, email), expiresAt };
}

/** The first code from the app turns two-factor on: `{ recoveryCodes }`, shown this once. */
export async function enableTwoFactor(deps: TwoFactorDeps, actor: Actor, email: string, code: string) {
  const pending = await deps.twoFactor.pendingSecret(actor.userId);
  const secret = pending && unsealTotpSecret(pending, actor.userId, deps.config.sessionSecret);
  if (!secret) throw new AuthError("BAD_REQUEST", "Set-up has expired: start again to get a new QR code.", { reason: "two_factor_setup_expired" });
  if (await deps.db.twoFactor.findUnique({ where: { userId: actor.userId }, select: { userId: true } })) throw alreadyEnabled();
  const used = await throttledCheck(deps, throttleKeys.inSession(actor), async () => {
    if (!looksLikeTotp(code)) return null;
    const step = matchingTimeStep(secret, code.replace(/\s/g, ""), deps.twoFactor.now());
    return step !== null && (await deps.twoFactor.useTimeStep(actor.userId, step)) ? step : null;
  });
  if (used === null) {
    await report(deps, { userId: actor.userId, audit: { type: "two_factor_failed", sessionId: actor.sessionId, ip: actor.ip, detail: { action: "enable" } } });
    throw wrongCodeForChange();
  }
  const recoveryCodes = newRecoveryCodes();
  try {
    await deps.db.$transaction([
      deps.db.twoFactor.create({ data: { userId: actor.userId, sealedSecret: sealTotpSecret(secret, actor.userId, deps.config.sessionSecret) } }),
      deps.db.recoveryCode.deleteMany({ where: { userId: actor.userId } }),
      deps.db.recoveryCode.createMany({
        data: recoveryCodes.map((c) => ({ userId: actor.userId, codeHash: recoveryCodeHash(c, deps.config.sessionSecret)! })),
      }),
    ]);
  } catch (error) {
    // Two enables raced: the first one won.
    if ((error as { code?: unknown } | null)?.code === "P2002") throw alreadyEnabled();
    throw error;
  }
  await deps.twoFactor.dropPendingSecret(actor.userId);
  await report(deps, {
    userId: actor.userId,
    audit: { type: "two_factor_enabled", sessionId: actor.sessionId, ip: actor.ip },
    mail: { to: email, message: notify.twoFactorEnabled(await where(actor)) },
  });
  return { recoveryCodes };
}

/** Turns two-factor off with a current code (TOTP or a recovery code): the secret and every recovery code are deleted. */
export async function disableTwoFactor(deps: TwoFactorDeps, actor: Actor, email: string, code: string) {
  const enabled = await enabledSecret(deps, actor.userId);
  if (!enabled) throw notEnabled();
  const used = await throttledCheck(deps, throttleKeys.inSession(actor), () => useCode(deps, actor.userId, enabled.secret, code, actor.sessionId));
  if (!used) {
    await report(deps, { userId: actor.userId, audit: { type: "two_factor_failed", sessionId: actor.sessionId, ip: actor.ip, detail: { action: "disable" } } });
    throw wrongCodeForChange();
  }
  await deps.db.$transaction([
    deps.db.twoFactor.deleteMany({ where: { userId: actor.userId } }),
    deps.db.recoveryCode.deleteMany({ where: { userId: actor.userId } }),
  ]);
  await report(deps, {
    userId: actor.userId,
    audit: { type: "two_factor_disabled", sessionId: actor.sessionId, ip: actor.ip, detail: { with: used.kind } },
    mail: { to: email, message: notify.twoFactorDisabled(await where(actor)) },
  });
  return { ok: true as const };
}

/** Ten new recovery codes (`{ recoveryCodes }`, shown once); every earlier one stops working. */
export async function regenerateRecoveryCodes(deps: TwoFactorDeps, actor: Actor, email: string) {
  const recoveryCodes = newRecoveryCodes();
  const [, , enabled] = await deps.db.$transaction([
    deps.db.recoveryCode.deleteMany({ where: { userId: actor.userId } }),
    deps.db.recoveryCode.createMany({ data: recoveryCodes.map((c) => ({ userId: actor.userId, codeHash: recoveryCodeHash(c, deps.config.sessionSecret)! })) }),
    deps.db.twoFactor.count({ where: { userId: actor.userId } }),
  ]);
  if (enabled === 0) {
    // Turned off meanwhile (or never on): no codes for an account without two-factor.
    await deps.db.recoveryCode.deleteMany({ where: { userId: actor.userId } });
    throw notEnabled();
  }
  await report(deps, {
    userId: actor.userId,
    audit: { type: "recovery_codes_regenerated", sessionId: actor.sessionId, ip: actor.ip },
    mail: { to: email, message: notify.recoveryCodesRegenerated(await where(actor)) },
  });
  return { recoveryCodes };
}

/**
 * After a correct password on an account with two-factor: the challenge the second step answers.
 * A browser's is bound to a secret in its cookie; a token client's to its deviceKey.
 */
export async function requireSecondFactor(
  deps: TwoFactorDeps,
  user: { id: string; email: string },
  client: ClientInfo,
  state: Omit<ChallengeState, "userId">,
): Promise<SecondFactorRequired> {
  const browserSecret = state.method === "token" ? client.deviceCookie : randomToken(32);
  const { challengeId, expiresAt } = await deps.twoFactor.createChallenge({ ...state, userId: user.id }, browserSecret);
  await recordLoginEvent(deps.db, { userId: user.id, email: user.email, client, method: state.method, outcome: "blocked", reason: "second_factor_required" });
  return { status: "second_factor_required", challengeId, expiresAt, browserSecret };
}

/**
 * The second step of a sign-in: a TOTP or recovery code for the challenge, from the browser (or
 * token client) it was given to. Continues as the password sign-in would have: new-device
 * approval when needed, then the session (method password or token, as the first step was).
 */
export async function verifySecondFactor(
  deps: TwoFactorDeps,
  input: { challengeId: string; code: string },
  browserSecret: string | undefined,
  client: ClientInfo,
): Promise<SignedIn | ApprovalRequired> {
  if (!browserSecret) throw challengeInvalid();
  const attempt = await deps.twoFactor.attempt(input.challengeId, browserSecret);
  if (attempt.outcome !== "ok") throw challengeInvalid();
  const { state } = attempt;
  const found = await deps.db.user.findUnique({
    where: { id: state.userId },
    select: {
      email: true,
      emailVerifiedAt: true,
      twoFactor: { select: { sealedSecret: true } },
      devices: { where: { cookieHash: sha256(client.deviceCookie), forgottenAt: null }, select: { id: true } },
    },
  });
  if (!found?.twoFactor) {
    // The account was deleted, or two-factor turned off, since the password: start again.
    await deps.twoFactor.consume(input.challengeId, browserSecret);
    throw challengeInvalid();
  }
  const secret = unsealTotpSecret(found.twoFactor.sealedSecret, state.userId, deps.config.sessionSecret);
  const knownDeviceId = found.devices[0]?.id;
  const used = await throttledCheck(deps, throttleKeys.signIn(state.userId, knownDeviceId), () => useCode(deps, state.userId, secret, input.code));
  if (!used) {
    const left = SECOND_FACTOR_ATTEMPTS - attempt.attempt;
    if (left <= 0) await deps.twoFactor.consume(input.challengeId, browserSecret);
    await recordLoginEvent(deps.db, {
      userId: state.userId,
      email: found.email,
      client,
      method: state.method,
      outcome: "failure",
      reason: "wrong_second_factor",
    });
    // The password was right: when the challenge dies, the owner hears that it is known.
    await report(deps, {
      userId: state.userId,
      audit: { type: "second_factor_failed", ip: client.ip, detail: { attemptsLeft: left } },
      ...(left <= 0 && {
        mail: { to: found.email, message: notify.secondFactorFailed({ ip: client.ip, place: await locate(client.ip) }, SECOND_FACTOR_ATTEMPTS) },
      }),
    });
    throw wrongCode(left);
  }
  if (!(await deps.twoFactor.consume(input.challengeId, browserSecret))) throw challengeInvalid();
  const user = { id: state.userId, email: found.email, emailVerified: found.emailVerifiedAt !== null };
  if (used.kind === "recovery") await reportRecoveryCodeUsed(deps, user, client.ip);
  const knownDevice = knownDeviceId !== undefined;
  const deviceName = state.deviceName || undefined;
  const approval = await approvalIfNeeded(deps, { id: user.id, email: user.email, knownDevice }, client, state.method, deviceName);
  if (approval) return approval;
  return startSession(deps, user, client, state.method, { deviceName, epoch: state.epoch, knownDevice });
}
