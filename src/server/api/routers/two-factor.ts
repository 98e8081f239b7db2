import { z } from "zod";
import { actorOf } from "~/server/auth/actor";
import { disableTwoFactor, enableTwoFactor, regenerateRecoveryCodes, setupTwoFactor, twoFactorStatus } from "~/server/two-factor/two-factor";
import { createTRPCRouter, protectedProcedure, recentAuthProcedure } from "../trpc";

// Two-factor authentication (README, "API: twoFactor"). Every change needs fresh authentication
// (data.reason "reauth_required"); every code check is throttled (per session here, per account at sign-in).

/** The id auth.login (or tokens.issue) answered with second_factor_required. */
export const challengeIdInput = z
  .string({ message: "challengeId is required" })
  .regex(/^[A-Za-z0-9_-]{16,64}$/, { message: "This sign-in has expired or is no longer valid. Sign in again." });

/** A 6-digit code from the authenticator app, or a recovery code ("xxxxx-xxxxx"). */
export const secondFactorCodeInput = z
  .string({ message: "Enter the code from your authenticator app or a recovery code" })
  .trim()
  .min(1, { message: "Enter the code from your authenticator app or a recovery code" })
  .max(32, { message: "That is not a 6-digit code or a recovery code" });

export const twoFactorRouter = createTRPCRouter({
  /** `{ enabled, enabledAt, recoveryCodesLeft }`. */
  status: protectedProcedure.query(({ ctx }) => twoFactorStatus(ctx.services, ctx.user.id)),

  /** A new secret: `{ secret, uri, expiresAt }`; show `uri` as a QR code. Nothing changes until twoFactor.enable. */
  setup: recentAuthProcedure.mutation(({ ctx }) => setupTwoFactor(ctx.services, actorOf(ctx.session, ctx.ip()), ctx.user.email)),

  /** The first code from the app turns it on: `{ recoveryCodes }` (10, each usable once; shown this once). */
  enable: recentAuthProcedure
    .input(z.object({ code: secondFactorCodeInput }))
    .mutation(({ ctx, input }) => enableTwoFactor(ctx.services, actorOf(ctx.session, ctx.ip()), ctx.user.email, input.code)),

  /** Turns it off with a current code (TOTP or a recovery code). */
  disable: recentAuthProcedure
    .input(z.object({ code: secondFactorCodeInput }))
    .mutation(({ ctx, input }) => disableTwoFactor(ctx.services, actorOf(ctx.session, ctx.ip()), ctx.user.email, input.code)),

  /** `{ recoveryCodes }`: ten new ones; the earlier ones stop working. */
  regenerateRecoveryCodes: recentAuthProcedure.mutation(({ ctx }) => regenerateRecoveryCodes(ctx.services, actorOf(ctx.session, ctx.ip()), ctx.user.email)),
});
