import { z } from "zod";
import { login, register, type SignedIn } from "~/server/auth/accounts";
import { clearSessionCookie, sealSessionCookie, unsealSessionCookie } from "~/server/auth/cookies";
import { emailInput, newPasswordInput, passwordInput } from "~/lib/credentials";
import type { Session } from "~/server/auth/session";
import type { Services } from "~/server/services";
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

type CookieCtx = {
  sessionCookie: string | undefined;
  setCookie(header: string): void;
  services: Pick<Services, "sessions" | "config">;
};

/** Ends the session this browser's cookie names, if it is still valid. */
async function endCookieSession(ctx: CookieCtx) {
  const token = await unsealSessionCookie(ctx.sessionCookie, ctx.services.config.sessionSecret);
  const session = token ? await ctx.services.sessions.validateSessionToken(token) : null;
  if (session) await ctx.services.sessions.deleteSession(session.id);
}

/** A sign-in always gets a brand-new session; one the browser still held is ended, not reused. */
async function replaceSession(ctx: CookieCtx, signedIn: SignedIn) {
  await endCookieSession(ctx);
  const { config } = ctx.services;
  ctx.setCookie(
    await sealSessionCookie(signedIn.token, { secure: config.secureCookies, secret: config.sessionSecret, sessionMaxAgeSeconds: config.sessionMaxAgeSeconds }),
  );
}
