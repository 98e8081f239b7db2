/** A failure the caller should see as-is; routers map `code` to the tRPC error code. */
export class AuthError extends Error {
  constructor(
    readonly code: "BAD_REQUEST" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "CONFLICT" | "TOO_MANY_REQUESTS",
    message: string,
    /** For TOO_MANY_REQUESTS: seconds until a retry can succeed (sent as Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "AuthError";
  }
}
