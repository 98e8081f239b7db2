import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { decodeClientDataJSON } from "@simplewebauthn/server/helpers";
import type { AuthDeps, Actor } from "~/server/auth/types";
import { AuthError, isErrorNamed } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import { report } from "~/server/security/report";
import type { AccountThrottle } from "~/server/security/throttle";
import type { ChallengePurpose, PasskeyChallengeStore } from "./challenges";
import type { AuthenticationResponseInput, RegistrationResponseInput } from "./inputs";
import { passkeyMail } from "./passkey-mail";
import { providerOf } from "./providers";

// Passkeys (WebAuthn, FIDO2) of a signed-in user: registering, listing, renaming, removing, and
// checking an assertion (the sign-in in sign-in.ts and re-authentication use it). Ceremonies are
// @simplewebauthn/server's; this module keeps the challenges one-time and bound (challenges.ts),
// requires user verification everywhere (a passkey is then possession + a PIN or biometric: two
// factors in one), and refuses a signature counter that did not increase (a cloned authenticator).

interface WebAuthnConfig {
  rpId: string;
  rpName: string;
  origin: string;
}

export interface PasskeyDeps extends Pick<AuthDeps, "db" | "events" | "mailer" | "sessions"> {
  passkeyChallenges: PasskeyChallengeStore;
  throttle: AccountThrottle;
  config: { webauthn: WebAuthnConfig; reauthMs: number };
}

const invalid = (message = "This passkey could not be verified.") => new AuthError("BAD_REQUEST", message, { reason: "passkey_invalid" });
const challengeInvalid = () =>
  new AuthError("BAD_REQUEST", "This passkey request has expired or was already used. Try again.", { reason: "passkey_challenge_invalid" });
const notFound = () => new AuthError("NOT_FOUND", "No such passkey.", { reason: "passkey_not_found" });

/** The challenge a response answers (from its clientDataJSON), or passkey_invalid when unreadable. */
function challengeOf(response: { response: { clientDataJSON: string } }): string {
  try {
    const challenge = (decodeClientDataJSON(response.response.clientDataJSON) as { challenge?: unknown }).challenge;
    if (typeof challenge === "string" && challenge.length > 0) return challenge;
  } catch {
    // fall through: not base64url JSON
  }
  throw invalid("This passkey response is malformed.");
}

/** Consumes the response's challenge (issued for `purpose` to `binding`), or throws passkey_challenge_invalid. */
export async function consumeChallenge(
  deps: Pick<PasskeyDeps, "passkeyChallenges">,
  purpose: ChallengePurpose,
  binding: string,
  response: { response: { clientDataJSON: string } },
) {
  const challenge = challengeOf(response);
  if (!(await deps.passkeyChallenges.consume(purpose, binding, challenge))) throw challengeInvalid();
  return challenge;
}

// --- Listing ---

type PasskeyRow = {
  id: string;
  name: string;
  aaguid: string;
  backupEligible: boolean;
  backedUp: boolean;
  transports: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
};

const LISTED = { id: true, name: true, aaguid: true, backupEligible: true, backedUp: true, transports: true, createdAt: true, lastUsedAt: true } as const;

/** What the dashboard and the data export show of a passkey: never its key material or credential id. */
function publicPasskey(row: PasskeyRow) {
  return {
    id: row.id,
    name: row.name,
    provider: providerOf(row.aaguid),
    aaguid: row.aaguid,
    synced: row.backedUp,
    backupEligible: row.backupEligible,
    transports: row.transports,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
  };
}

export async function listPasskeys(deps: Pick<PasskeyDeps, "db">, userId: string) {
  const rows = await deps.db.passkey.findMany({ where: { userId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], select: LISTED });
  return rows.map(publicPasskey);
}

// --- Registration ---

/** passkeys.registrationOptions: creation options for a discoverable, user-verified credential, bound to this session. */
export async function registrationOptions(deps: PasskeyDeps, actor: Actor & { email: string }) {
  const existing = await deps.db.passkey.findMany({ where: { userId: actor.userId }, select: { credentialId: true, transports: true } });
  const { challenge } = await deps.passkeyChallenges.issue("register", actor.sessionId);
  const { webauthn } = deps.config;
  return generateRegistrationOptions({
    rpName: webauthn.rpName,
    rpID: webauthn.rpId,
    userName: actor.email,
    userID: new TextEncoder().encode(actor.userId),
    // As bytes: a string would be UTF-8 encoded again, and the browser would answer that.
    challenge: Buffer.from(challenge, "base64url"),
    timeout: deps.passkeyChallenges.ttlMs,
    attestationType: "none",
    excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
    authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
  });
}

/** passkeys.register: the browser's answer to registrationOptions, verified and stored under `name`. */
export async function registerPasskey(deps: PasskeyDeps, actor: Actor & { email: string }, input: { response: RegistrationResponseInput; name: string }) {
  const challenge = await consumeChallenge(deps, "register", actor.sessionId, input.response);
  const { webauthn } = deps.config;
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      response: input.response as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: webauthn.origin,
      expectedRPID: webauthn.rpId,
      requireUserVerification: true,
    });
  } catch {
    throw invalid();
  }
  if (!verification.verified) throw invalid();
  const info = verification.registrationInfo;
  const created = await deps.db.passkey
    .create({
      data: {
        userId: actor.userId,
        credentialId: info.credential.id,
        publicKey: Buffer.from(info.credential.publicKey),
        counter: BigInt(info.credential.counter),
        transports: (input.response.response.transports ?? []).slice(0, 10),
        backupEligible: info.credentialDeviceType === "multiDevice",
        backedUp: info.credentialBackedUp,
        aaguid: info.aaguid,
        name: input.name,
      },
      select: LISTED,
    })
    .catch((error: unknown) => {
      if ((error as { code?: unknown }).code === "P2002") throw new AuthError("CONFLICT", "This passkey is already registered.", { reason: "passkey_exists" });
      throw error;
    });
  const passkey = publicPasskey(created);
  const place = await locate(actor.ip);
  await report(deps, {
    userId: actor.userId,
    audit: {
      type: "passkey_added",
      sessionId: actor.sessionId,
      deviceId: actor.deviceId,
      ip: actor.ip,
      detail: { passkeyId: passkey.id, name: passkey.name, provider: passkey.provider },
    },
    live: { type: "passkeys_changed" },
    mail: { to: actor.email, message: passkeyMail.added({ ip: actor.ip, place }, passkey.name) },
  });
  return { passkey };
}

// --- Rename and remove ---

export async function renamePasskey(deps: PasskeyDeps, actor: Actor, input: { id: string; name: string }) {
  const updated = await deps.db.passkey.updateMany({ where: { id: input.id, userId: actor.userId }, data: { name: input.name } });
  if (updated.count === 0) throw notFound();
  await report(deps, {
    userId: actor.userId,
    audit: { type: "passkey_renamed", sessionId: actor.sessionId, ip: actor.ip, detail: { passkeyId: input.id, name: input.name } },
    live: { type: "passkeys_changed" },
  });
  const row = await deps.db.passkey.findUnique({ where: { id: input.id }, select: LISTED });
  if (!row) throw notFound();
  return { passkey: publicPasskey(row) };
}

export async function removePasskey(deps: PasskeyDeps, actor: Actor & { email: string }, id: string) {
  const [removed] = await deps.db.passkey.findMany({ where: { id, userId: actor.userId }, select: { name: true } });
  const deleted = await deps.db.passkey.deleteMany({ where: { id, userId: actor.userId } });
  if (!removed || deleted.count === 0) throw notFound();
  const place = await locate(actor.ip);
  await report(deps, {
    userId: actor.userId,
    audit: { type: "passkey_removed", sessionId: actor.sessionId, ip: actor.ip, detail: { passkeyId: id, name: removed.name } },
    live: { type: "passkeys_changed" },
    mail: { to: actor.email, message: passkeyMail.removed({ ip: actor.ip, place }, removed.name) },
  });
  return { ok: true as const };
}

/** Every passkey of the user goes (the emergency lockout: someone in the account may have added their own). Returns their ids. */
export async function removeAllPasskeys(deps: Pick<PasskeyDeps, "db">, userId: string): Promise<string[]> {
  const rows = await deps.db.$queryRaw<{ id: string }[]>`DELETE FROM "Passkey" WHERE "userId" = ${userId}::uuid RETURNING "id"::text AS "id"`;
  return rows.map((r) => r.id);
}

// --- Assertions (sign-in, re-authentication) ---

/** Request options for an assertion: discoverable (no allowCredentials) unless credentials are named; user verification required. */
export async function assertionOptions(
  deps: Pick<PasskeyDeps, "passkeyChallenges" | "config">,
  purpose: ChallengePurpose,
  binding: string,
  allow?: { id: string; transports: string[] }[],
) {
  const { challenge } = await deps.passkeyChallenges.issue(purpose, binding);
  return generateAuthenticationOptions({
    rpID: deps.config.webauthn.rpId,
    challenge: Buffer.from(challenge, "base64url"),
    timeout: deps.passkeyChallenges.ttlMs,
    userVerification: "required",
    allowCredentials: allow ?? [],
  });
}

export class PasskeyClonedError extends Error {
  override name = "PasskeyClonedError";
  constructor(
    readonly passkeyId: string,
    readonly stored: number,
    readonly received: number,
  ) {
    super("The passkey's signature counter did not increase.");
  }
}

export interface StoredPasskey {
  id: string;
  userId: string;
  credentialId: string;
  publicKey: Uint8Array;
  counter: bigint;
  transports: string[];
}

/**
 * Verifies an assertion (whose challenge the caller consumed) against a stored passkey, then
 * records the new counter, backup state and last use. The counter is compared here, after the
 * signature was verified (the library compares before), so a forged response can never make a
 * genuine passkey look cloned: a counter that does not increase (when either is non-zero) throws
 * PasskeyClonedError. passkey_invalid for anything else that does not verify.
 */
export async function verifyAssertion(
  deps: Pick<PasskeyDeps, "db" | "config">,
  passkey: StoredPasskey,
  response: AuthenticationResponseInput,
  challenge: string,
) {
  const { webauthn } = deps.config;
  let verification;
  try {
    verification = await verifyAuthenticationResponse({
      response: response as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: webauthn.origin,
      expectedRPID: webauthn.rpId,
      requireUserVerification: true,
      credential: { id: passkey.credentialId, publicKey: new Uint8Array(passkey.publicKey), counter: 0, transports: passkey.transports },
    });
  } catch {
    throw invalid();
  }
  if (!verification.verified) throw invalid();
  const received = verification.authenticationInfo.newCounter;
  const stored = Number(passkey.counter);
  if ((received > 0 || stored > 0) && received <= stored) throw new PasskeyClonedError(passkey.id, stored, received);
  // Compare-and-set on the counter: two answers carrying the same counter cannot both pass.
  const updated = await deps.db.passkey.updateMany({
    where: { id: passkey.id, counter: passkey.counter },
    data: { counter: BigInt(received), backedUp: verification.authenticationInfo.credentialBackedUp, lastUsedAt: new Date() },
  });
  if (updated.count === 0) throw new PasskeyClonedError(passkey.id, stored, received);
}

/** Reports a refused cloned passkey: a security event and an email. */
export async function reportClone(
  deps: PasskeyDeps,
  user: { id: string; email: string },
  error: PasskeyClonedError,
  where: { ip: string; sessionId?: string },
) {
  const place = await locate(where.ip);
  await report(deps, {
    userId: user.id,
    audit: {
      type: "passkey_clone_detected",
      sessionId: where.sessionId ?? null,
      ip: where.ip,
      detail: { passkeyId: error.passkeyId, storedCounter: error.stored, receivedCounter: error.received },
    },
    mail: { to: user.email, message: passkeyMail.cloned({ ip: where.ip, place }) },
  });
  return new AuthError("FORBIDDEN", "This passkey was refused: it may have been copied. Use another way to sign in, and remove it from your account.", {
    reason: "passkey_cloned",
  });
}

/** The stored passkey a response names (of `userId` when given), or null. */
export async function findPasskey(deps: Pick<PasskeyDeps, "db">, credentialId: string, userId?: string) {
  const row = await deps.db.passkey.findUnique({
    where: { credentialId },
    select: { id: true, userId: true, credentialId: true, publicKey: true, counter: true, transports: true },
  });
  if (!row || (userId !== undefined && row.userId !== userId)) return null;
  return row;
}

// --- Re-authentication ---

/** passkeys.reauthOptions: an assertion request for this session, limited to the user's own passkeys. */
export async function reauthOptions(deps: PasskeyDeps, actor: Actor) {
  const passkeys = await deps.db.passkey.findMany({ where: { userId: actor.userId }, select: { credentialId: true, transports: true } });
  if (passkeys.length === 0) throw notFound();
  return assertionOptions(
    deps,
    "reauth",
    actor.sessionId,
    passkeys.map((p) => ({ id: p.credentialId, transports: p.transports })),
  );
}

/**
 * account.reauthenticate with a passkey assertion of the signed-in user: counted by the same
 * per-session throttle as a password re-authentication, so a stolen session cannot try forever.
 */
export async function reauthenticateWithPasskey(deps: PasskeyDeps, actor: Actor & { email: string }, response: AuthenticationResponseInput) {
  // The challenge first (as for sign-in): only answers to a challenge of this session are counted.
  const challenge = await consumeChallenge(deps, "reauth", actor.sessionId, response);
  const throttleKey = `session:${actor.sessionId}`;
  const attempt = await deps.throttle.beginAttempt(throttleKey);
  if (!attempt.allowed) {
    const retryAfter = Math.max(1, Math.ceil(attempt.retryAfterMs / 1000));
    throw new AuthError("TOO_MANY_REQUESTS", `Too many failed attempts. Try again in ${retryAfter} s.`, {
      reason: "too_many_failures",
      retryAfterSeconds: retryAfter,
    });
  }
  let right = false;
  try {
    const passkey = await findPasskey(deps, response.id, actor.userId);
    if (!passkey) throw invalid("This passkey is not one of your account's.");
    try {
      await verifyAssertion(deps, passkey, response, challenge);
    } catch (error) {
      if (isErrorNamed<PasskeyClonedError>(error, "PasskeyClonedError")) throw await reportClone(deps, { id: actor.userId, email: actor.email }, error, actor);
      throw error;
    }
    right = true;
  } catch (error) {
    await report(deps, { userId: actor.userId, audit: { type: "reauth_failed", sessionId: actor.sessionId, ip: actor.ip, detail: { method: "passkey" } } });
    throw error;
  } finally {
    await deps.throttle.finishAttempt(throttleKey, attempt.id, right);
  }
  await deps.sessions.markAuthenticated(actor.sessionId, deps.config.reauthMs);
  await report(deps, { userId: actor.userId, audit: { type: "reauthenticated", sessionId: actor.sessionId, ip: actor.ip, detail: { method: "passkey" } } });
  return { ok: true as const, validUntil: new Date(Date.now() + deps.config.reauthMs) };
}
