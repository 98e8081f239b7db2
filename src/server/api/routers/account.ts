import { z } from "zod";
import { emailInput, newPasswordInput, passwordInput } from "~/lib/credentials";
import { actorOf } from "~/server/auth/actor";
import { changePassword, reauthenticate } from "~/server/account/reauth";
import { requestPasswordReset, resetPassword } from "~/server/account/password-reset";
import { resendVerification, verifyEmail } from "~/server/account/email-verification";
import { sha256 } from "~/server/platform/crypto";
import { enforceRateLimit } from "~/server/platform/rate-limit";
import { createTRPCRouter, protectedProcedure, publicProcedure, rateLimited, verifiedProcedure } from "../trpc";

/** A link's secret as it arrives from a URL: validated by the store (anything malformed is simply not a valid link). */
const linkToken = z.string({ message: "token is required" }).max(200, { message: "token is too long" });

/** Opening account links (reset, verification) per IP: each costs a lookup, a reset also a password hash. */
const accountLinkPerIp = rateLimited((ctx) => [[ctx.services.rateLimits.accountLinkPerIp, ctx.ip()]], "Too many links opened from your network.");

export const accountRouter = createTRPCRouter({
  /**
   * The current password, a new one (8 to 256 characters), and whether to end every other session.
   * -> `{ ok: true, signedOutSessions }`. A wrong current password: BAD_REQUEST "Wrong password."
   */
  changePassword: verifiedProcedure
    .input(
      z.object({
        currentPassword: passwordInput,
        newPassword: newPasswordInput,
        signOutOtherSessions: z.boolean({ message: "signOutOtherSessions must be true or false" }).default(true),
      }),
    )
    .mutation(({ ctx, input }) => changePassword(ctx.services, actorOf(ctx.session, ctx.ip()), input)),

  /** The password again, for sensitive actions that answered FORBIDDEN with data.reason "reauth_required". */
  reauthenticate: protectedProcedure
    .input(z.object({ password: passwordInput }))
    .mutation(({ ctx, input }) => reauthenticate(ctx.services, actorOf(ctx.session, ctx.ip()), input.password)),

  /**
   * Emails a password-reset link when the address has an account. Always `{ ok: true }`, answered
   * no sooner than a fixed minimum either way (no enumeration). Limited per IP and per address.
   */
  requestPasswordReset: publicProcedure
    .input(z.object({ email: emailInput }))
    .use(rateLimited((ctx) => [[ctx.services.rateLimits.passwordResetPerIp, ctx.ip()]], "Too many password-reset requests from your network."))
    .mutation(async ({ ctx, input }) => {
      await enforceRateLimit(ctx.services.rateLimits.passwordResetPerAddress, sha256(input.email), "Too many password-reset emails for this address.");
      return requestPasswordReset(ctx.services, input.email, ctx.ip());
    }),

  /**
   * The link's token and a new password -> `{ ok: true, email }`: every session ends; sign in with the
   * new password. Expired, used, replaced or forged: BAD_REQUEST, data.reason "reset_link_invalid".
   */
  resetPassword: publicProcedure
    .input(z.object({ token: linkToken, newPassword: newPasswordInput }))
    .use(accountLinkPerIp)
    .mutation(({ ctx, input }) => resetPassword(ctx.services, input, ctx.ip())),

  /**
   * The token of a `/verify/<token>` link -> `{ ok: true, kind: "verified", email }`; signed in or not
   * (the link is the proof). Expired, used, replaced or forged: BAD_REQUEST "verify_link_invalid".
   */
  verifyEmail: publicProcedure
    .input(z.object({ token: linkToken }))
    .use(accountLinkPerIp)
    .mutation(({ ctx, input }) => verifyEmail(ctx.services, input.token, ctx.ip())),

  /** A new verification link (the previous one stops working) -> `{ ok: true, alreadyVerified, sentTo }`. Limited per user. */
  resendVerification: protectedProcedure
    .use(rateLimited((ctx) => [[ctx.services.rateLimits.accountMailPerUser, ctx.session.userId]], "Too many emails asked for."))
    .mutation(({ ctx }) => resendVerification(ctx.services, actorOf(ctx.session, ctx.ip()))),
});
