import { TRPCError } from "@trpc/server";
import { isAuthError, isErrorNamed, type ErrorReason } from "~/server/platform/errors";
import { logger } from "~/server/platform/logger";
import { metrics } from "~/server/platform/metrics";
import { isRedisUnavailable } from "~/server/platform/redis/errors";

// Recognised by code or name, never by message text (messages change between versions and
// languages) nor instanceof (Next.js bundles have separate class copies).
// Node's socket and DNS errors, and PostgreSQL's "admin shutdown" / "cannot connect now".
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "EAI_AGAIN", "57P01", "57P03"]);
// What Prisma's PostgreSQL driver adapter reports (DriverAdapterError.cause.kind) when it cannot talk to the database.
const DRIVER_ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections", "TlsConnectionError"]);
// node-pg throws these with no code at all; their messages are fixed strings in its source.
const PG_UNCODED_MESSAGES = new Set([
  "Connection terminated unexpectedly",
  "Connection terminated",
  "Connection terminated due to connection timeout",
  "timeout exceeded when trying to connect",
]);

/** True when the error means PostgreSQL or Redis could not be reached, not that the request was wrong. */
export function isInfrastructureError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 6; depth++) {
    const err = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown; kind?: unknown; meta?: unknown };
    if (isRedisUnavailable(err)) return true;
    // Upstash's REST API always answers JSON: anything else came from a gateway or proxy in between (a 502 page).
    if (err.name === "UpstashJSONParseError") return true;
    if (typeof err.code === "string" && NETWORK_CODES.has(err.code)) return true;
    if (err.name === "PrismaClientInitializationError") return true;
    if (typeof err.code === "string" && /^P10\d\d$/.test(err.code)) return true;
    if (typeof err.kind === "string" && DRIVER_ADAPTER_KINDS.has(err.kind)) return true;
    if (typeof err.message === "string" && PG_UNCODED_MESSAGES.has(err.message)) return true;
    if (Array.isArray(err.errors) && err.errors.some(isInfrastructureError)) return true;
    // A raw query ($queryRaw) that could not reach the database is P2010, with the adapter's error in its meta.
    const adapterError = (err.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError;
    if (adapterError && isInfrastructureError(adapterError)) return true;
    e = err.cause;
  }
  return false;
}

// During an outage every request fails the same way: one report (with its cause) every 10 s, and
// how many were not reported, instead of a stack trace per request.
const REPORT_EVERY_MS = 10_000;
const unreachableReports = { last: 0, unreported: 0 };

/** Which backing service an infrastructure error came from: Redis errors are named so at the source (redis/errors.ts). */
function serviceOf(cause: unknown): "redis" | "postgres" {
  for (let e: unknown = cause, depth = 0; e && depth < 6; depth++, e = (e as { cause?: unknown }).cause) {
    if (isRedisUnavailable(e) || isErrorNamed(e, "UpstashJSONParseError")) return "redis";
  }
  return "postgres";
}

function reportUnreachable(cause: unknown) {
  const service = serviceOf(cause);
  metrics().backendErrors.inc({ service });
  const now = Date.now();
  if (now - unreachableReports.last < REPORT_EVERY_MS) {
    unreachableReports.unreported++;
    return;
  }
  logger().error({ service, unreported: unreachableReports.unreported, err: cause }, "a backing service is unreachable");
  unreachableReports.last = now;
  unreachableReports.unreported = 0;
}

/** Turns what a service threw into the error a client sees. */
export function toTRPCError(error: unknown): TRPCError {
  const cause = error instanceof TRPCError && !(error.cause instanceof TRPCError) && error.cause ? error.cause : error;
  if (isAuthError(cause)) return new TRPCError({ code: cause.code, message: cause.message, cause });
  if (error instanceof TRPCError && error.code !== "INTERNAL_SERVER_ERROR") return error;
  if (isInfrastructureError(cause)) {
    reportUnreachable(cause);
    return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "The service is temporarily unavailable. Please try again in a moment.", cause });
  }
  return error instanceof TRPCError ? error : new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Something went wrong.", cause });
}

/** The `data.reason` of an error a client receives: the domain's own, else one by what went wrong. */
export function reasonOf(error: TRPCError): ErrorReason {
  if (isAuthError(error.cause)) return error.cause.reason;
  // An input that failed its zod schema (data.fieldErrors says which field).
  if (isErrorNamed(error.cause, "ZodError")) return "invalid_input";
  if (error.code === "SERVICE_UNAVAILABLE") return "service_unavailable";
  if (error.code === "INTERNAL_SERVER_ERROR") return "internal";
  // A body that is not JSON: tRPC's parser throws JSON.parse's SyntaxError (recognised by name).
  if (error.code === "PARSE_ERROR" || (error.cause as { name?: unknown } | undefined)?.name === "SyntaxError") return "malformed_input";
  // What tRPC itself refuses before a procedure runs (unknown path, wrong method or content type).
  return "protocol_error";
}
