/**
 * Next.js compiles pages and route handlers into separate server bundles, each with its own copy
 * of this class, while the services (and so the stores that throw) are shared on globalThis. An
 * error built by one bundle therefore fails `instanceof` in the other: recognise errors by a
 * brand registered in the global symbol registry (the same symbol in every bundle) or by name.
 */
const AUTH_ERROR = Symbol.for("handoff.AuthError");

export type AuthErrorCode = "BAD_REQUEST" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "CONFLICT" | "TOO_MANY_REQUESTS";

/** A failure the caller should see as-is; routers map `code` to the tRPC error code. */
export class AuthError extends Error {
  readonly [AUTH_ERROR] = true;

  constructor(
    readonly code: AuthErrorCode,
    message: string,
    /** For TOO_MANY_REQUESTS: seconds until a retry can succeed (sent as Retry-After). */
    readonly retryAfterSeconds?: number,
    /** A machine-readable why, sent as data.reason (e.g. "reauth_required"). */
    readonly reason?: string,
  ) {
    super(message);
    this.name = "AuthError";
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
