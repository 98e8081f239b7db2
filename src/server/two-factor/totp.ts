import { randomInt } from "node:crypto";
import { Secret, TOTP } from "otpauth";
import { keyedHash, seal, sha256, unseal } from "~/server/platform/crypto";
import { RECOVERY_CODE_COUNT, TOTP_WINDOW_STEPS } from "~/server/policy";

// The codes themselves: RFC 6238 TOTP through `otpauth` (SHA-1, 6 digits, 30 s: what every
// authenticator app supports), secrets sealed for storage, and recovery codes.

const PERIOD_SECONDS = 30;
const ISSUER = "Handoff";
const SEAL_PURPOSE = "totp secret";

function totpFor(secretBase32: string, label = ""): TOTP {
  return new TOTP({ issuer: ISSUER, label, algorithm: "SHA1", digits: 6, period: PERIOD_SECONDS, secret: Secret.fromBase32(secretBase32) });
}

/** A new random secret (160 bits, as RFC 4226 recommends), base32 as authenticator apps take it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export function totpUri(secretBase32: string, email: string): string {
  return totpFor(secretBase32, email).toString();
}

/**
 * The time step a 6-digit code belongs to, within ±TOTP_WINDOW_STEPS of `now`, or null. The caller
 * must still accept that step only once per user (TwoFactorStore.useTimeStep).
 */
export function matchingTimeStep(secretBase32: string, code: string, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpFor(secretBase32).validate({ token: code, timestamp: now, window: TOTP_WINDOW_STEPS });
  return delta === null ? null : Math.floor(now / 1000 / PERIOD_SECONDS) + delta;
}

/** Sealed for storage, bound to the user (a sealed secret copied to another account does not open). */
export const sealTotpSecret = (secretBase32: string, userId: string, sessionSecret: string) =>
  seal(secretBase32, { secret: sessionSecret, purpose: SEAL_PURPOSE, boundTo: userId });

export const unsealTotpSecret = (sealed: string, userId: string, sessionSecret: string) =>
  unseal(sealed, { secret: sessionSecret, purpose: SEAL_PURPOSE, boundTo: userId });

// Recovery codes: 10 characters from a 32-letter alphabet without look-alikes (50 bits each), shown
// as "xxxxx-xxxxx". So much entropy needs no slow hash online, but 50 bits can be searched offline:
// what is stored is an HMAC of the canonical form under a key derived from SESSION_SECRET, so a
// database dump alone is useless. Codes issued before that change were stored as plain SHA-256 and
// are still accepted (legacyRecoveryCodeHash) until they are used or replaced.
const RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_LENGTH = 10;

function newRecoveryCode(): string {
  let code = "";
  for (let i = 0; i < RECOVERY_LENGTH; i++) code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
}

/** What the user typed as a recovery code in its one form (case, spaces, dashes and look-alikes forgiven), or null when it cannot be one. */
function canonicalRecoveryCode(typed: string): string | null {
  const canonical = typed.toLowerCase().replace(/[\s-]/g, "").replace(/o/g, "0").replace(/[il]/g, "1");
  if (canonical.length !== RECOVERY_LENGTH || [...canonical].some((c) => !RECOVERY_ALPHABET.includes(c))) return null;
  return canonical;
}

const RECOVERY_PURPOSE = "recovery code";

/** The stored hash of a recovery code (as issued or as typed), or null when the text cannot be one. */
export function recoveryCodeHash(typed: string, sessionSecret: string): string | null {
  const canonical = canonicalRecoveryCode(typed);
  return canonical && keyedHash(canonical, { secret: sessionSecret, purpose: RECOVERY_PURPOSE });
}

/** How codes issued before recovery codes were keyed are stored: accepted, never written. */
export function legacyRecoveryCodeHash(typed: string): string | null {
  const canonical = canonicalRecoveryCode(typed);
  return canonical && sha256(`recovery:${canonical}`);
}

/** Whether what was typed looks like a TOTP code (else it is tried as a recovery code). */
export const looksLikeTotp = (code: string) => /^\d{6}$/.test(code.replace(/\s/g, ""));
