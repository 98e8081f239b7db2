/**
 * Next.js compiles pages and route handlers into separate server bundles, each with its own copy
 * of this class, while the services (and so the stores that throw) are shared on globalThis. An
 * error built by one bundle therefore fails `instanceof` in the other: recognise errors by a
 * brand registered in the global symbol registry (the same symbol in every bundle) or by name.
 */
const AUTH_ERROR = Symbol.for("handoff.AuthError");

export type AuthErrorCode = "BAD_REQUEST" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "CONFLICT" | "TOO_MANY_REQUESTS";

/**
 * Every `data.reason` a client can receive, with what it means: the public list (the README's API
 * section shows the same, a test keeps them equal). Clients branch on these, never on messages.
 */
export const ERROR_REASONS = {
  invalid_input: "An input failed validation; data.fieldErrors says which field and why.",
  malformed_input: "The request body is not JSON, or its superjson meta is not one our inputs use.",
  malformed_url: "The URL's %-encoding is broken.",
  body_too_large: "The request body is over the limit (64 KB for /api/trpc, 8 KB for the forms); refused unread.",
  batch_too_large: "A batch of more calls than the limit (10).",
  not_signed_in: "No session, or the session has ended or expired.",
  invalid_credentials: "Wrong email or password (the same answer for an unknown address).",
  email_taken: "Registration with an address that already has an account.",
  wrong_password: "The current password given for a sensitive action is wrong.",
  reauth_required: "A sensitive action needs the password again (older than REAUTH_MINUTES).",
  password_rejected: "A new password breaks the password rules (length, weak).",
  password_unchanged: "The new password equals the current one.",
  too_many_failures: "Too many wrong passwords for the account: wait data.retryAfter seconds.",
  attempts_in_flight: "Too many password checks at once for the account: wait and retry.",
  network_busy: "Too many password checks at once from this network: wait and retry.",
  rate_limited: "A per-IP or per-user request limit: wait data.retryAfter seconds.",
  session_limit: "The account already has SESSION_LIMIT sessions and the policy is reject.",
  too_many_streams:
    "The session or the network address already holds its limit of open live-update streams on this app instance (LIVE_STREAMS_PER_SESSION, LIVE_STREAMS_PER_IP): close some pages.",
  parent_session_ended: "The session that approved or handed off this sign-in has ended.",
  sessions_ended: "Every session of the account was ended (lockout, password change) meanwhile.",
  session_not_found: "No such session of this user (ended already, or not theirs).",
  device_not_found: "No such device of this user.",
  approval_invalid: "The new-device approval request expired, was used, denied or cancelled.",
  approval_pending: "The approval request still waits for its code (token clients poll again).",
  wrong_code: "Wrong approval code; the message says how many attempts are left.",
  too_many_wrong_codes: "The approval request was blocked after too many wrong codes.",
  qr_invalid: "The QR token is unknown, expired, used or forged.",
  not_approved_yet: "The QR handoff has not been approved on the other device yet.",
  request_not_found: "No such approval or QR request for this viewer.",
  refresh_invalid: "The refresh token is unknown, expired, used or revoked.",
  origin_mismatch: "A browser mutation came from another site (Origin check).",
  service_unavailable: "Redis or PostgreSQL is unreachable: retry shortly.",
  bearer_required: "A token-only procedure was called without Authorization: Bearer.",
  protocol_error: "Not a valid call: unknown procedure, wrong HTTP method or content type.",
  reset_link_invalid: "The password-reset link is unknown, expired, already used or replaced by a newer one.",
  verify_link_invalid: "The verification or email-change link is unknown, expired, already used or replaced by a newer one.",
  email_unverified: "EMAIL_VERIFICATION=required and the account's address is not verified yet: open the link sent to it.",
  email_unchanged: "account.changeEmail with the address the account already has.",
  second_factor_invalid: "The two-factor sign-in challenge is unknown, expired, used, out of attempts or belongs to another browser: sign in again.",
  wrong_second_factor_code: "Wrong authenticator or recovery code (or a code already used); the message says how many attempts are left.",
  second_factor_code_required: "account.reauthenticate with a password alone on an account with two-factor on: send the code with it.",
  two_factor_not_enabled: "A two-factor action on an account without two-factor authentication.",
  two_factor_already_enabled: "twoFactor.setup or enable on an account that already has two-factor authentication.",
  two_factor_setup_expired: "twoFactor.enable without a twoFactor.setup in the last 10 minutes.",
  internal: "An unexpected server error (logged); nothing was changed by a half-done step.",
  passkey_invalid: "A passkey (WebAuthn) response is malformed, does not verify, lacks user verification, or names no passkey of this account.",
  passkey_challenge_invalid:
    "The passkey challenge is unknown, expired (5 minutes), already used, or was issued to another browser or session: ask for new options.",
  passkey_cloned: "The passkey's signature counter did not increase: the authenticator may have been cloned. Refused and reported.",
  passkey_not_found: "No such passkey of this user.",
  passkey_exists: "This passkey is already registered.",
} as const;

export type ErrorReason = keyof typeof ERROR_REASONS;

/** True for a reason in the catalogue (e.g. one read back from an answer). */
export function isErrorReason(value: unknown): value is ErrorReason {
  return typeof value === "string" && Object.hasOwn(ERROR_REASONS, value);
}

export interface AuthErrorOptions {
  /** Stable and machine-readable, sent as data.reason. */
  reason: ErrorReason;
  /** For TOO_MANY_REQUESTS: seconds until a retry can succeed (sent as Retry-After and data.retryAfter). */
  retryAfterSeconds?: number;
}

/** A failure the caller should see as-is; routers map `code` to the tRPC error code. */
export class AuthError extends Error {
  readonly [AUTH_ERROR] = true;
  readonly reason: ErrorReason;
  readonly retryAfterSeconds?: number;

  constructor(
    readonly code: AuthErrorCode,
    message: string,
    options: AuthErrorOptions,
  ) {
    super(message);
    this.name = "AuthError";
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** True for an AuthError (or subclass) from any server bundle. */
export function isAuthError(error: unknown): error is AuthError {
  return typeof error === "object" && error !== null && (error as { [AUTH_ERROR]?: unknown })[AUTH_ERROR] === true;
}

/** True for an Error whose `name` is `name`, whichever bundle's class built it. */
export function isErrorNamed<T extends Error = Error>(error: unknown, name: string): error is T {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === name;
}
