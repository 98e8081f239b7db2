import { z } from "zod";
import { login, register } from "~/server/auth/accounts";
import { clearSessionCookie } from "~/server/auth/cookies";
import { emailInput, newPasswordInput, passwordInput } from "~/lib/credentials";
import type { Session } from "~/server/auth/session";
import { endCookieSession, replaceSession } from "../session-cookie";
import { createTRPCRouter, protectedProcedure, publicProcedure } from "../trpc";

const credentials = z.object({ email: emailInput, password: passwordInput });

export const publicSession = (s: Session) => ({
  id: s.id,
  deviceId: s.deviceId,
  method: s.method,
  createdAt: s.createdAt,
  lastSeenAt: s.lastSeenAt,
  idleExpiresAt: s.idleExpiresAt,
  absoluteExpiresAt: s.absoluteExpiresAt,
});

export const authRouter = createTRPCRouter({
  register: publicProcedure
    .input(z.object({ email: emailInput, password: newPasswordInput }))
    .mutation(async ({ ctx, input }) => {
      const signedIn = await register(ctx.services, input, ctx.client());
      await replaceSession(ctx, signedIn);
      return { user: signedIn.user };
    }),

  login: publicProcedure.input(credentials).mutation(async ({ ctx, input }) => {
    const signedIn = await login(ctx.services, input, ctx.client());
    await replaceSession(ctx, signedIn);
    return { status: "signed_in" as const, user: signedIn.user };
  }),

  /** Ends this browser's session in Redis at once; safe to call when already signed out. */
  logout: publicProcedure.mutation(async ({ ctx }) => {
    await endCookieSession(ctx);
    ctx.setCookie(clearSessionCookie(ctx.services.config.secureCookies));
    return { ok: true as const };
  }),

  me: protectedProcedure.query(({ ctx }) => ({ user: ctx.user, session: publicSession(ctx.session) })),
});

