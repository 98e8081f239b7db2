import type { SignedIn } from "~/server/auth/types";
import { sealSessionCookie, unsealSessionCookie } from "~/server/platform/cookies";
import type { Services } from "~/server/services";

export type CookieCtx = {
  sessionCookie: string | undefined;
  setCookie(header: string): void;
  services: Pick<Services, "sessions" | "events" | "config">;
};

/** Ends the session this browser's cookie names, if it is still valid. */
export async function endCookieSession(ctx: CookieCtx) {
  const token = await unsealSessionCookie(ctx.sessionCookie, ctx.services.config.sessionSecret);
  const session = token ? await ctx.services.sessions.validateSessionToken(token) : null;
  if (!session) return;
  // Told before it ends, so this browser's open pages say "signed out" rather than "expired".
  await ctx.services.events.publish(session.userId, { type: "revoked", sessionIds: [session.id], reason: "signed_out" });
  await ctx.services.sessions.deleteSession(session.id);
}

/** A sign-in always gets a brand-new session; one the browser still held is ended, not reused. */
export async function replaceSession(ctx: CookieCtx, signedIn: SignedIn) {
  await endCookieSession(ctx);
  const { config } = ctx.services;
  ctx.setCookie(
    await sealSessionCookie(signedIn.token, { secure: config.secureCookies, secret: config.sessionSecret, sessionMaxAgeSeconds: config.sessionMaxAgeSeconds }),
  );
}
