import { experimental_standaloneMiddleware, initTRPC } from "@trpc/server";
import type { Ratelimit } from "@upstash/ratelimit";
import { ZodError } from "zod";
import { unsealSessionCookie } from "~/server/platform/cookies";
import { AuthError, isAuthError } from "~/server/platform/errors";
import { noteRequestUser } from "~/server/platform/logger";
import { enforceRateLimit } from "~/server/platform/rate-limit";
import { requireRecentAuth } from "~/server/account/reauth";
import { requireVerifiedEmail } from "~/server/account/email-verification";
import { authenticateBearer } from "~/server/tokens/bearer";
import type { AccessTokenClaims } from "~/server/tokens/jwt";
import type { Session } from "~/server/sessions/store";
import type { Services } from "~/server/services";
import { requestHelpers, type Context } from "./context";
import { reasonOf, toTRPCError } from "./errors";
import { LIVE_STREAM_PING_MS, LIVE_STREAM_RECONNECT_MS } from "~/server/policy";
import { transformer } from "./transformer";

interface Meta {
  /**
   * The procedure reads no cookie (token endpoints: credentials come in the input and the answer
   * is only readable by the caller), so there is nothing for a cross-site request to abuse:
   * no Origin check, and cookies are ignored.
   */
  cookieless?: boolean;
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer,
    sse: { ping: { enabled: true, intervalMs: LIVE_STREAM_PING_MS }, client: { reconnectAfterInactivityMs: LIVE_STREAM_RECONNECT_MS } },
    errorFormatter({ shape, error }) {
      const zodError = error.cause instanceof ZodError ? error.cause : null;
      const { stack: _stack, ...data } = shape.data;
      // TOO_MANY_REQUESTS carries the seconds to wait, for the UI ("Try again in 40 s").
      const retryAfter = isAuthError(error.cause) ? error.cause.retryAfterSeconds : undefined;
      if (!zodError) return { ...shape, data: { ...data, ...(retryAfter ? { retryAfter } : {}), reason: reasonOf(error) } };
      const fieldErrors: Record<string, string[]> = {};
      for (const issue of zodError.issues) (fieldErrors[issue.path.join(".") || "input"] ??= []).push(issue.message);
      // Bad input: the first problem as the message, and every field's messages for forms.
      return { ...shape, message: zodError.issues[0]?.message ?? shape.message, data: { ...data, reason: reasonOf(error), fieldErrors } };
    },
  });

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/** `Authorization: Bearer <token>` (any other scheme is ignored); "" when the header is malformed. */
function bearerTokenOf(headers: Headers): string | null {
  const authorization = headers.get("authorization");
  if (!authorization || !/^bearer(\s|$)/i.test(authorization)) return null;
  return /^bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(authorization)?.[1] ?? "";
}

/**
 * Resolves services, maps service errors to typed tRPC errors, and checks Origin on mutations.
 * A bearer-token request is not a browser's: no CSRF check (a cross-site page cannot set the
 * header), and its cookies are ignored.
 */
const base = t.procedure.use(async ({ ctx, type, meta, next }) => {
  let services;
  try {
    services = await ctx.loadServices();
  } catch (error) {
    throw toTRPCError(error);
  }
  const bearerToken = bearerTokenOf(ctx.headers);
  const cookieless = bearerToken !== null || meta?.cookieless === true;
  if (type === "mutation" && !cookieless) {
    // CSRF: a browser always sends Origin on cross-site POSTs; API clients must send it too.
    const origin = ctx.headers.get("origin");
    if (origin !== services.config.appOrigin) {
      throw toTRPCError(
        new AuthError(
          "FORBIDDEN",
          origin
            ? `Cross-site request rejected: Origin ${origin} is not ${services.config.appOrigin}`
            : `Missing Origin header: send Origin: ${services.config.appOrigin}`,
          { reason: "origin_mismatch" },
        ),
      );
    }
  }
  const result = await next({ ctx: { services, bearerToken, ...requestHelpers(ctx.headers, ctx.resHeaders, services.config, { ignoreCookies: cookieless }) } });
  // A subscription's errors are thrown while it streams, after this middleware has returned:
  // map them on the way out too, or tRPC sends every one as INTERNAL_SERVER_ERROR.
  if (result.ok && type === "subscription" && isAsyncIterable(result.data)) return { ...result, data: mapStreamErrors(result.data) };
  if (!result.ok) {
    const error = toTRPCError(result.error);
    const retryAfter = isAuthError(error.cause) ? error.cause.retryAfterSeconds : undefined;
    if (retryAfter) ctx.resHeaders?.set("retry-after", String(retryAfter));
    throw error;
  }
  return result;
});

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

async function* mapStreamErrors(stream: AsyncIterable<unknown>) {
  try {
    // yield* forwards return() too, so a client that goes away still ends the inner loop.
    yield* stream;
  } catch (error) {
    throw toTRPCError(error);
  }
}

export const publicProcedure = base;

/** A public procedure for API clients that send no cookies (see Meta.cookieless). */
export const cookielessProcedure = base.meta({ cookieless: true });

/** The request's session: from its bearer access token when it has one, else from its cookie. */
async function sessionOf(ctx: {
  sessionCookie: string | undefined;
  bearerToken: string | null;
  services: Services;
}): Promise<{ session: Session; accessToken: AccessTokenClaims | null } | null> {
  if (ctx.bearerToken !== null) {
    const bearer = ctx.bearerToken ? await authenticateBearer(ctx.services, ctx.bearerToken) : null;
    return bearer && { session: bearer.session, accessToken: bearer.claims };
  }
  const token = await unsealSessionCookie(ctx.sessionCookie, ctx.services.config.sessionSecret);
  const session = token ? await ctx.services.sessions.validateSessionToken(token) : null;
  return session && { session, accessToken: null };
}

/** A public procedure that also knows the session when the request has a valid one. */
export const maybeSignedInProcedure = base.use(async ({ ctx, next }) => {
  const found = await sessionOf(ctx);
  noteRequestUser(found?.session.userId);
  return next({ ctx: { session: found?.session ?? null, accessToken: found?.accessToken ?? null } });
});

export const protectedProcedure = base.use(async ({ ctx, next }) => {
  const found = await sessionOf(ctx);
  if (!found) {
    const message =
      ctx.bearerToken !== null ? "This access token is not valid, has expired, or its session has ended." : "You are not signed in, or your session has ended.";
    throw new AuthError("UNAUTHORIZED", message, { reason: "not_signed_in" });
  }
  const { session, accessToken } = found;
  noteRequestUser(session.userId);
  return next({ ctx: { session, accessToken, user: { id: session.userId, email: session.email } } });
});

/**
 * A protected procedure for security-sensitive actions: with EMAIL_VERIFICATION=required, the
 * account's address must be verified, else FORBIDDEN with data.reason "email_unverified".
 */
export const verifiedProcedure = protectedProcedure.use(async ({ ctx, next }) => {
  await requireVerifiedEmail(ctx.services, ctx.session.userId);
  return next();
});

const recentAuth = experimental_standaloneMiddleware<{ ctx: { services: Services; session: Session } }>().create(async ({ ctx, next }) => {
  await requireRecentAuth(ctx.services.sessions, ctx.session.id, ctx.services.config.reauthMs);
  return next();
});

/**
 * A verified procedure for sensitive actions: the password must have been entered in this
 * session within REAUTH_MINUTES, else FORBIDDEN with data.reason "reauth_required".
 */
export const recentAuthProcedure = verifiedProcedure.use(recentAuth);

/**
 * Fresh authentication without the verified address: what an unverified account must still be
 * able to do under EMAIL_VERIFICATION=required (fix a mistyped address, leave).
 */
export const recentAuthAnyAddressProcedure = protectedProcedure.use(recentAuth);

/** One sliding-window limit and the key (IP or user id) counted against it. */
export type RateLimitRule = readonly [limiter: Ratelimit, key: string];

/**
 * Counts the request against each limit in order (after its input is validated, when placed after
 * `.input()`); over one, TOO_MANY_REQUESTS "<message> Try again in N s." with data.retryAfter and
 * a Retry-After header (set by the base middleware).
 */
export function rateLimited<TContext extends { services: Services; network(): string }>(rules: (ctx: TContext) => RateLimitRule[], message: string) {
  return experimental_standaloneMiddleware<{ ctx: TContext }>().create(async ({ ctx, next }) => {
    // tRPC hands the middleware a Simplify<> copy of TContext's type: the same object.
    for (const [limiter, key] of rules(ctx as TContext)) await enforceRateLimit(limiter, key, message);
    return next();
  });
}
