/** A failure the caller should see as-is; routers map `code` to the tRPC error code. */
export class AuthError extends Error {
  constructor(
    readonly code: "BAD_REQUEST" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "CONFLICT" | "TOO_MANY_REQUESTS",
    message: string,
  ) {
    super(message);
    this.name = "AuthError";
  }
}
