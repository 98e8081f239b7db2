/** A failure the caller should see as-is; routers map `code` to the tRPC error code. */
export class AuthError extends Error {
  constructor(
    readonly code: "BAD_REQUEST" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "CONFLICT" | "TOO_MANY_REQUESTS",
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
