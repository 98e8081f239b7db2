import { z } from "zod";
import { register } from "~/server/auth/registration";
import { sendVerificationLink } from "~/server/account/email-verification";
import { accountStatusOf } from "~/server/account/account-status";
import { login } from "~/server/auth/sign-in";
import { authenticationResponseInput } from "~/server/passkeys/inputs";
import { loginWithPasskey, passkeySignInOptions } from "~/server/passkeys/sign-in";
import { endBearerSession } from "~/server/tokens/bearer";
import { approvalCookie, clearSessionCookie, clearTwoFactorCookie, secretFor, twoFactorCookie } from "~/server/platform/cookies";
import { verifySecondFactor, type SecondFactorRequired } from "~/server/two-factor/two-factor";
import type { ApprovalRequired, SignedIn } from "~/server/auth/types";
import { SECOND_FACTOR_CHALLENGE_TTL_MS } from "~/server/policy";
import { emailInput, newPasswordInput, passwordInput } from "~/lib/credentials";
import type { Session } from "~/server/sessions/store";
import { endCookieSession, replaceSession, type CookieCtx } from "../session-cookie";
import { passkeyPerIp } from "./passkeys";
import { createTRPCRouter, protectedProcedure, publicProcedure, rateLimited } from "../trpc";
import { challengeIdInput, secondFactorCodeInput } from "./two-factor";

const credentials = z.object({ email: emailInput, password: passwordInput });

/** Password sign-ins per client IP, by cookie (auth.login) or for tokens (tokens.issue). */
export const signInPerIp = rateLimited((ctx) => [[ctx.services.rateLimits.signInPerIp, ctx.network()]], "Too many sign-in attempts from your network.");

const publicSession = (s: Session) => ({
  id: s.id,
  deviceId: s.deviceId,
  method: s.method,
  createdAt: s.createdAt,
  lastSeenAt: s.lastSeenAt,
  idleExpiresAt: s.idleExpiresAt,
  absoluteExpiresAt: s.absoluteExpiresAt,
});

/** What auth.login and auth.verifySecondFactor answer, with the cookies each outcome sets. */
async function answerSignIn(ctx: CookieCtx, result: SignedIn | ApprovalRequired | SecondFactorRequired) {
  if ("status" in result && result.status === "second_factor_required") {
    const { browserSecret, ...challenge } = result;
    ctx.setCookie(
      twoFactorCookie(challenge.challengeId, browserSecret, {
        secure: ctx.services.config.secureCookies,
        maxAgeSeconds: SECOND_FACTOR_CHALLENGE_TTL_MS / 1000,
      }),
    );
    return challenge;
  }
  if ("status" in result) {
    const { browserSecret, ...approval } = result;
    ctx.setCookie(
      approvalCookie(approval.requestId, browserSecret, {
        secure: ctx.services.config.secureCookies,
        maxAgeSeconds: ctx.services.config.approvalTtlSeconds,
      }),
    );
    return approval;
  }
  await replaceSession(ctx, result);
  return { status: "signed_in" as const, user: result.user, ...(result.warning ? { warning: result.warning } : {}), signedOut: result.signedOut };
}

export const authRouter = createTRPCRouter({
  register: publicProcedure
    .input(z.object({ email: emailInput, password: newPasswordInput }))
    .use(rateLimited((ctx) => [[ctx.services.rateLimits.registerPerIp, ctx.network()]], "Too many accounts created from your network."))
    .mutation(async ({ ctx, input }) => {
      const signedIn = await register(ctx.services, input, ctx.client());
      await replaceSession(ctx, signedIn);
      await sendVerificationLink(ctx.services, signedIn.user);
      return { user: signedIn.user };
    }),

  /**
   * `{ status: "signed_in", user, signedOut }` (signedOut: `{ deviceName }` of the session this
   * sign-in ended to stay within the cap, or null), or for a new device while the user is signed in elsewhere
   * `{ status: "approval_required", requestId, code, expiresAt }` (see approvals.*).
   */
  login: publicProcedure
    .input(credentials)
    .use(signInPerIp)
    .mutation(async ({ ctx, input }) => answerSignIn(ctx, await login(ctx.services, input, ctx.client()))),

  /**
   * The second step of a sign-in with two-factor on: `{ challengeId, code }` (a 6-digit TOTP code or
   * a recovery code), from the browser auth.login answered `second_factor_required` to. Answers
   * as auth.login would have after the password: signed in, or approval_required.
   */
  verifySecondFactor: publicProcedure
    .input(z.object({ challengeId: challengeIdInput, code: secondFactorCodeInput }))
    .use(signInPerIp)
    .mutation(async ({ ctx, input }) => {
      const result = await verifySecondFactor(ctx.services, input, secretFor(ctx.twoFactorCookie, input.challengeId), ctx.client());
      ctx.setCookie(clearTwoFactorCookie(ctx.services.config.secureCookies));
      return answerSignIn(ctx, result);
    }),

  /**
   * WebAuthn request options (PublicKeyCredentialRequestOptionsJSON) for a discoverable passkey:
   * no allowCredentials, user verification required. The challenge lasts 5 minutes, is answered
   * once, and only by this browser (bound to its device cookie, set here when missing).
   */
  passkeyOptions: publicProcedure.use(passkeyPerIp).mutation(({ ctx }) => passkeySignInOptions(ctx.services, ctx.client())),

  /**
   * The assertion from startAuthentication -> `{ status: "signed_in", user, signedOut }` and a
   * session of method `passkey`: no new-device approval (possession and user verification are
   * proven), and sensitive actions need no re-authentication at first.
   */
  loginWithPasskey: publicProcedure
    .input(z.object({ response: authenticationResponseInput }))
    .use(passkeyPerIp)
    .mutation(async ({ ctx, input }) => {
      const result = await loginWithPasskey(ctx.services, input.response, ctx.client());
      await replaceSession(ctx, result);
      return { status: "signed_in" as const, user: result.user, ...(result.warning ? { warning: result.warning } : {}), signedOut: result.signedOut };
    }),

  /** Ends this browser's session (or the bearer token's) in Redis at once; safe to call when already signed out. */
  logout: publicProcedure.mutation(async ({ ctx }) => {
    if (ctx.bearerToken !== null) {
      await endBearerSession(ctx.services, ctx.bearerToken, ctx.ip());
      return { ok: true as const };
    }
    await endCookieSession(ctx);
    ctx.setCookie(clearSessionCookie(ctx.services.config.secureCookies));
    return { ok: true as const };
  }),

  /** The account's address and whether it is verified, as the session carries them (every change rewrites them in all live sessions: account/account-status.ts). */
  me: protectedProcedure.query(async ({ ctx }) => {
    const account = await accountStatusOf(ctx.services, ctx.session);
    return {
      user: { id: ctx.user.id, email: account?.email ?? ctx.user.email, emailVerified: account?.emailVerified ?? false },
      session: publicSession(ctx.session),
    };
  }),
});
