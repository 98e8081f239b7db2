import { z } from "zod";
import { emailInput, newPasswordInput, passwordInput } from "~/lib/credentials";
import { actorOf } from "~/server/auth/actor";
import { changePassword, reauthenticate } from "~/server/account/reauth";
import { requestPasswordReset, resetPassword } from "~/server/account/password-reset";
import { resendVerification, verifyEmail } from "~/server/account/email-verification";
import { requestEmailChange } from "~/server/account/email-change";
import { authenticationResponseInput } from "~/server/passkeys/inputs";
import { reauthenticateWithPasskey } from "~/server/passkeys/passkeys";
import { securityActivity } from "~/server/account/security-activity";
import { exportData } from "~/server/account/data-export";
import { deleteAccount } from "~/server/account/account-deletion";
import { clearSessionCookie } from "~/server/platform/cookies";
import { SECURITY_ACTIVITY_PAGE, SECURITY_ACTIVITY_PAGE_MAX } from "~/server/policy";
import { sha256 } from "~/server/platform/crypto";
import { enforceRateLimit } from "~/server/platform/rate-limit";
import { secondFactorCodeInput } from "./two-factor";
import type { Services } from "~/server/services";
import {
  createTRPCRouter,
  protectedProcedure,
  publicProcedure,
  rateLimited,
  recentAuthAnyAddressProcedure,
  recentAuthProcedure,
  verifiedProcedure,
} from "../trpc";

/** A link's secret as it arrives from a URL: validated by the store (anything malformed is simply not a valid link). */
const linkToken = z.string({ message: "token is required" }).max(200, { message: "token is too long" });

/** Opening account links (reset, verification) per IP: each costs a lookup, a reset also a password hash. */
/** Emails to addresses a user asks for (verification resends, change-of-address links), per user. */
const accountMailPerUser = rateLimited(
  (ctx: { services: Services; network(): string; session: { userId: string } }) => [[ctx.services.rateLimits.accountMailPerUser, ctx.session.userId]],
  "Too many emails asked for.",
);

const accountLinkPerIp = rateLimited((ctx) => [[ctx.services.rateLimits.accountLinkPerIp, ctx.network()]], "Too many links opened from your network.");

export const accountRouter = createTRPCRouter({
  /**
   * The current password, a new one (8 to 256 characters), and whether to end every other session;
   * with two-factor on also `code` (without it BAD_REQUEST "second_factor_code_required").
   * -> `{ ok: true, signedOutSessions }`. A wrong current password: BAD_REQUEST "Wrong password."
   */
  changePassword: verifiedProcedure
    .input(
      z.object({
        currentPassword: passwordInput,
        newPassword: newPasswordInput,
        signOutOtherSessions: z.boolean({ message: "signOutOtherSessions must be true or false" }).default(true),
        code: secondFactorCodeInput.optional(),
      }),
    )
    .mutation(({ ctx, input }) => changePassword(ctx.services, actorOf(ctx.session, ctx.ip()), input)),

  /**
   * `{ password }` (plus `code`, a TOTP or recovery code, when two-factor is on: without it
   * BAD_REQUEST "second_factor_code_required"), or `{ passkey }` (an assertion answering
   * passkeys.reauthOptions), for sensitive actions that answered FORBIDDEN with data.reason "reauth_required".
   */
  reauthenticate: protectedProcedure
    .input(
      z.union([z.object({ password: passwordInput, code: secondFactorCodeInput.optional() }), z.object({ passkey: authenticationResponseInput })], {
        message: "Send { password } (with { code } when two-factor is on) or { passkey }",
      }),
    )
    .mutation(({ ctx, input }) =>
      "passkey" in input
        ? reauthenticateWithPasskey(ctx.services, { ...actorOf(ctx.session, ctx.ip()), email: ctx.user.email }, input.passkey)
        : reauthenticate(ctx.services, actorOf(ctx.session, ctx.ip()), input),
    ),

  /**
   * Emails a password-reset link when the address has an account. Always `{ ok: true }`, answered
   * no sooner than a fixed minimum either way (no enumeration). Limited per IP and per address.
   */
  requestPasswordReset: publicProcedure
    .input(z.object({ email: emailInput }))
    .use(rateLimited((ctx) => [[ctx.services.rateLimits.passwordResetPerIp, ctx.network()]], "Too many password-reset requests from your network."))
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
  resendVerification: protectedProcedure.use(accountMailPerUser).mutation(({ ctx }) => resendVerification(ctx.services, actorOf(ctx.session, ctx.ip()))),

  /**
   * Fresh authentication. Mails a link to `newEmail` and tells the current address (the new one masked)
   * -> `{ ok: true, pendingEmail, expiresAt }`; the address changes when the link is opened (account.verifyEmail).
   * Same address: BAD_REQUEST "email_unchanged"; one with an account: CONFLICT "email_taken". Limited per user.
   */
  changeEmail: recentAuthAnyAddressProcedure
    .input(z.object({ newEmail: emailInput }))
    .use(accountMailPerUser)
    .mutation(({ ctx, input }) => requestEmailChange(ctx.services, actorOf(ctx.session, ctx.ip()), input.newEmail)),

  /** The user's own security events, newest first -> `{ items: [{ id, type, title, createdAt, ip, location, deviceName }], nextCursor }`. */
  securityActivity: protectedProcedure
    .input(
      z
        .object({
          cursor: z.uuid({ message: "cursor must be a nextCursor from an earlier page" }).nullish(),
          limit: z.number().int().min(1).max(SECURITY_ACTIVITY_PAGE_MAX).default(SECURITY_ACTIVITY_PAGE),
        })
        .default({ limit: SECURITY_ACTIVITY_PAGE }),
    )
    .query(({ ctx, input }) => securityActivity(ctx.services, ctx.session.userId, { cursor: input.cursor ?? undefined, limit: input.limit })),

  /**
   * Everything stored about the user as one JSON document (see data-export.ts). Fresh
   * authentication: a stolen cookie should not walk off with the whole history. Limited per user.
   */
  exportData: recentAuthProcedure
    .use(rateLimited((ctx) => [[ctx.services.rateLimits.dataExportPerUser, ctx.session.userId]], "Too many data exports."))
    .mutation(({ ctx }) => exportData(ctx.services, actorOf(ctx.session, ctx.ip()))),

  /**
   * With the password (the fresh authentication; plus `code` when two-factor is on): every session ends, every row and Redis key of
   * the user goes, a goodbye email. -> `{ ok: true }`. A wrong password: BAD_REQUEST "wrong_password".
   */
  delete: protectedProcedure.input(z.object({ password: passwordInput, code: secondFactorCodeInput.optional() })).mutation(async ({ ctx, input }) => {
    const result = await deleteAccount(ctx.services, actorOf(ctx.session, ctx.ip()), input);
    ctx.setCookie(clearSessionCookie(ctx.services.config.secureCookies));
    return result;
  }),
});
