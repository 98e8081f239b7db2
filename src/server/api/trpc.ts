import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import { unsealSessionCookie } from "~/server/auth/cookies";
import { AuthError } from "~/server/auth/errors";
import type { Session } from "~/server/auth/session";
import { requestHelpers, type Context } from "./context";
import { toTRPCError } from "./errors";

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const zodError = error.cause instanceof ZodError ? error.cause : null;
    const { stack: _stack, ...data } = shape.data;
    // TOO_MANY_REQUESTS carries the seconds to wait, for the UI ("Try again in 40 s").
    const retryAfter = error.cause instanceof AuthError ? error.cause.retryAfterSeconds : undefined;
    if (!zodError) return { ...shape, data: { ...data, ...(retryAfter ? { retryAfter } : {}) } };
    const fieldErrors: Record<string, string[]> = {};
    for (const issue of zodError.issues) (fieldErrors[issue.path.join(".") || "input"] ??= []).push(issue.message);
    // Bad input: the first problem as the message, and every field's messages for forms.
    return { ...shape, message: zodError.issues[0]?.message ?? shape.message, data: { ...data, fieldErrors } };
  },
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Resolves services, maps service errors to typed tRPC errors, and checks Origin on mutations. */
const base = t.procedure.use(async ({ ctx, type, next }) => {
  let services;
  try {
    services = await ctx.loadServices();
  } catch (error) {
    throw toTRPCError(error);
  }
  if (type === "mutation") {
    // CSRF: a browser always sends Origin on cross-site POSTs; API clients must send it too.
    const origin = ctx.headers.get("origin");
    if (origin !== services.config.appOrigin) {
      throw new TRPCError({
        code: "FORBIDDEN",
        message: origin ? `Cross-site request rejected: Origin ${origin} is not ${services.config.appOrigin}` : `Missing Origin header: send Origin: ${services.config.appOrigin}`,
      });
    }
  }
  const result = await next({ ctx: { services, ...requestHelpers(ctx.headers, ctx.resHeaders, services.config) } });
  if (!result.ok) {
    const error = toTRPCError(result.error);
    const retryAfter = error.cause instanceof AuthError ? error.cause.retryAfterSeconds : undefined;
    if (retryAfter) ctx.resHeaders?.set("retry-after", String(retryAfter));
    throw error;
  }
  return result;
});

export const publicProcedure = base;

async function sessionOf(ctx: { sessionCookie: string | undefined; services: { config: { sessionSecret: string }; sessions: { validateSessionToken(t: string): Promise<Session | null> } } }) {
  const token = await unsealSessionCookie(ctx.sessionCookie, ctx.services.config.sessionSecret);
  return token ? ctx.services.sessions.validateSessionToken(token) : null;
}

/** A public procedure that also knows the session when the request has a valid one. */
export const maybeSignedInProcedure = base.use(async ({ ctx, next }) => next({ ctx: { session: await sessionOf(ctx) } }));

export const protectedProcedure = base.use(async ({ ctx, next }) => {
  const session = await sessionOf(ctx);
  if (!session) throw new TRPCError({ code: "UNAUTHORIZED", message: "You are not signed in, or your session has ended." });
  return next({ ctx: { session, user: { id: session.userId, email: session.email } } });
});
