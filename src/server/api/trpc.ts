import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import { unsealSessionCookie } from "~/server/auth/cookies";
import { requestHelpers, type Context } from "./context";
import { toTRPCError } from "./errors";

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const zodError = error.cause instanceof ZodError ? error.cause : null;
    const { stack: _stack, ...data } = shape.data;
    if (!zodError) return { ...shape, data };
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
  if (!result.ok) throw toTRPCError(result.error);
  return result;
});

export const publicProcedure = base;

export const protectedProcedure = base.use(async ({ ctx, next }) => {
  const token = await unsealSessionCookie(ctx.sessionCookie, ctx.services.config.sessionSecret);
  const session = token ? await ctx.services.sessions.validateSessionToken(token) : null;
  if (!session) throw new TRPCError({ code: "UNAUTHORIZED", message: "You are not signed in, or your session has ended." });
  return next({ ctx: { session, user: { id: session.userId, email: session.email } } });
});
