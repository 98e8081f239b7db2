import { TRPCError } from "@trpc/server";
import { isAuthError } from "~/server/auth/errors";

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH", "EPIPE", "EAI_AGAIN", "57P01", "57P03"]);
const NETWORK_MESSAGES =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection terminated|connection timeout|Can't reach database|The client is closed|Socket closed|ClientClosed|offline queue|Connection is closed|server closed the connection|DatabaseNotReachable|the database system is/i;

/** True when the error means PostgreSQL or Redis could not be reached, not that the request was wrong. */
export function isInfrastructureError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 6; depth++) {
    const err = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof err.code === "string" && NETWORK_CODES.has(err.code)) return true;
    if (err.name === "PrismaClientInitializationError") return true;
    if (typeof err.code === "string" && /^P10\d\d$/.test(err.code)) return true;
    if (typeof err.message === "string" && NETWORK_MESSAGES.test(err.message)) return true;
    if (Array.isArray(err.errors) && err.errors.some(isInfrastructureError)) return true;
    e = err.cause;
  }
  return false;
}

/** Turns what a service threw into the error a client sees. */
export function toTRPCError(error: unknown): TRPCError {
  const cause = error instanceof TRPCError && !(error.cause instanceof TRPCError) && error.cause ? error.cause : error;
  if (isAuthError(cause)) return new TRPCError({ code: cause.code, message: cause.message, cause });
  if (error instanceof TRPCError && error.code !== "INTERNAL_SERVER_ERROR") return error;
  if (isInfrastructureError(cause)) {
    console.error("[handoff] a backing service is unreachable:", cause);
    return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "The service is temporarily unavailable. Please try again in a moment.", cause });
  }
  return error instanceof TRPCError ? error : new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Something went wrong.", cause });
}
