import { AsyncLocalStorage } from "node:async_hooks";
import crypto from "node:crypto";
import pino, { type DestinationStream, type Logger } from "pino";

// One JSON line per request and per unexpected error, on stdout (pino). Inputs, cookies and
// headers are never logged; `redact` is the second line of defence should a field slip into a
// log call. Shared by every Next.js server bundle through globalThis (Symbol.for), like the
// request scope below, so a test or the server swaps one logger for all of them.

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Field names that may hold a secret or personal data, at the top of a log line. Only the top
 * level: lines are built from known fields and errors pass through serializeError, and pino's
 * wildcard paths made every request line 5-8 times dearer (measured: 34-52 µs vs 6-9 µs a line).
 */
const SECRET_FIELDS = [
  "password",
  "currentPassword",
  "newPassword",
  "token",
  "accessToken",
  "refreshToken",
  "approvalSecret",
  "deviceKey",
  "secret",
  "cookie",
  "authorization",
  "set-cookie",
  "email",
  "headers",
  "input",
];
const REDACT = SECRET_FIELDS.map((f) => `["${f}"]`);

interface SerializedError {
  type: string;
  message: string;
  code?: string | number;
  kind?: string;
  stack?: string;
  cause?: SerializedError;
  errors?: SerializedError[];
}

/**
 * Only an error's name, message, code, stack and causes: never its other own properties, where
 * clients attach what they were doing (a Redis command's arguments, a query's parameters).
 */
function serializeError(error: unknown, depth = 0): SerializedError {
  if (typeof error !== "object" || error === null) return { type: typeof error, message: String(error) };
  const e = error as { name?: unknown; message?: unknown; code?: unknown; kind?: unknown; stack?: unknown; cause?: unknown; errors?: unknown };
  const out: SerializedError = { type: typeof e.name === "string" ? e.name : "Error", message: typeof e.message === "string" ? maskEmails(e.message) : "" };
  if (typeof e.code === "string" || typeof e.code === "number") out.code = e.code;
  if (typeof e.kind === "string") out.kind = e.kind;
  if (typeof e.stack === "string") out.stack = maskEmails(e.stack);
  if (depth < 4 && e.cause !== undefined && e.cause !== error) out.cause = serializeError(e.cause, depth + 1);
  if (depth < 4 && Array.isArray(e.errors)) out.errors = e.errors.slice(0, 5).map((x) => serializeError(x, depth + 1));
  return out;
}

/** Addresses inside free text (an SMTP server's reply quoted in an error message) lose their local part. */
const maskEmails = (text: string) => text.replace(/[^\s@<>"'(),;:[\]]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g, "***@$1");

/** LOG_LEVEL, or info (src/env.ts validates it; an invalid value must not stop the logger). */
function levelFromEnv(): LogLevel {
  const value = process.env.LOG_LEVEL?.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(value ?? "") ? (value as LogLevel) : "info";
}

export function createLogger(options: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? levelFromEnv(),
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
      redact: { paths: REDACT, censor: "[redacted]" },
    },
    // Synchronous writes to stdout: a line is out before a crash, and one short write per request is cheap.
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

interface RequestRecord {
  id: string;
  userId?: string;
}

interface LoggerGlobals {
  logger?: Logger;
  scope: AsyncLocalStorage<RequestRecord>;
}

const KEY = Symbol.for("handoff.logger");
const globals = ((globalThis as unknown as Record<symbol, LoggerGlobals>)[KEY] ??= { scope: new AsyncLocalStorage<RequestRecord>() });

/** The process's logger (stdout, LOG_LEVEL), created on first use. */
export function logger(): Logger {
  globals.logger ??= createLogger();
  return globals.logger;
}

/** Replaces the process's logger (tests: a memory stream); returns the one it replaced. */
export function setLogger(next: Logger | undefined): Logger | undefined {
  const previous = globals.logger;
  globals.logger = next;
  return previous;
}

/** A client's X-Request-Id is kept when it looks like an id (no spaces, quotes, @ or control characters), else one is made. */
export function requestIdFrom(headers: Headers): string {
  const given = headers.get("x-request-id");
  return given && /^[A-Za-z0-9._:-]{8,128}$/.test(given) ? given : crypto.randomUUID();
}

/** Runs `fn` as the request `record`: what runs inside (sign-in, session checks) can name the user for its log line. */
export function inRequestScope<T>(record: RequestRecord, fn: () => T): T {
  return globals.scope.run(record, fn);
}

/** Tells the current request's log line which user it acted for (no-op outside a request). */
export function noteRequestUser(userId: string | null | undefined): void {
  const record = globals.scope.getStore();
  if (record && userId) record.userId = userId;
}

/** "alice@example.com" -> "a***@example.com": enough to tell mails apart in a log, not the address. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  return at > 0 ? `${email[0]}***${email.slice(at)}` : "***";
}

/**
 * A route handler with a request line: request id (taken from a sane X-Request-Id, else made,
 * and returned as X-Request-Id), method, route, status, duration and user when known. A thrown
 * error is logged once with its stack and answered 500.
 */
export function withRequestLog(route: string, handler: (req: Request) => Promise<Response>): (req: Request) => Promise<Response> {
  return async (req) => {
    const started = performance.now();
    const record: RequestRecord = { id: requestIdFrom(req.headers) };
    let res: Response;
    let err: unknown;
    try {
      res = await inRequestScope(record, () => handler(req));
    } catch (error) {
      err = error;
      res = new Response("Something went wrong.", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    res.headers.set("x-request-id", record.id);
    const line = { reqId: record.id, method: req.method, route, status: res.status, durationMs: roundMs(performance.now() - started), userId: record.userId };
    if (err) logger().error({ ...line, err }, "request failed");
    else logger().info(line, "request");
    return res;
  };
}

export const roundMs = (ms: number) => Math.round(ms * 10) / 10;
