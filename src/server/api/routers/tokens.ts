import { z } from "zod";
import { emailInput, passwordInput } from "~/lib/credentials";
import { deviceNameInput } from "~/server/devices/device-name";
import {
  completeTokenApproval,
  verifyTokenSecondFactor,
  issueTokens,
  issueTokensFromSession,
  refreshTokens,
  revokeTokens,
  type TokenClient,
} from "~/server/tokens/bearer";
import { AuthError } from "~/server/platform/errors";
import { signInPerIp } from "./auth";
import { challengeIdInput, secondFactorCodeInput } from "./two-factor";
import { cookielessProcedure, createTRPCRouter, protectedProcedure, rateLimited, recentAuthProcedure } from "../trpc";

// Bearer tokens for native and CLI clients (README, "API: tokens"). Every pair belongs to a
// device session of method "token" that the user sees and can end like any other.

const deviceKeyValue = z
  .string({ message: "deviceKey must be a string" })
  .regex(/^[A-Za-z0-9_-]{43}$/, { message: "deviceKey must be the 43-character key an earlier answer returned" });
const deviceKey = deviceKeyValue.optional();
const requestId = z.string({ message: "A request id is required" }).regex(/^[A-Za-z0-9_-]{16,64}$/, { message: "No such request" });
const opaque = (name: string) =>
  z
    .string({ message: `${name} is required` })
    .min(1, { message: `${name} is required` })
    .max(256, { message: `${name} is not valid` });

const tokenClient = (ctx: { ip(): string; headers: Headers }, key: string | undefined): TokenClient => ({
  ip: ctx.ip(),
  userAgent: (ctx.headers.get("user-agent") ?? "").slice(0, 512),
  deviceKey: key,
});

export const tokensRouter = createTRPCRouter({
  /**
   * Email + password -> `{ status: "issued", accessToken, accessTokenExpiresAt, refreshToken,
   * refreshTokenExpiresAt, sessionId, deviceKey, user }`, or for a new device while the user is
   * signed in elsewhere `{ status: "approval_required", requestId, code, expiresAt, approvalSecret,
   * deviceKey }` (then tokens.complete), or with two-factor on `{ status: "second_factor_required",
   * challengeId, expiresAt, deviceKey }` (then tokens.verifySecondFactor). Keep deviceKey: sent back next time, this client is a
   * known device.
   */
  issue: cookielessProcedure
    .input(z.object({ email: emailInput, password: passwordInput, deviceName: deviceNameInput, deviceKey }))
    .use(signInPerIp)
    .mutation(({ ctx, input }) => issueTokens(ctx.services, input, tokenClient(ctx, input.deviceKey))),

  /**
   * The second factor for a token sign-in: `{ challengeId, code, deviceName, deviceKey }` with the
   * deviceKey tokens.issue answered (the challenge is bound to it). Answers as tokens.issue would
   * have after the password: `issued`, or `approval_required` (then tokens.complete).
   */
  verifySecondFactor: cookielessProcedure
    .input(
      z.object({
        challengeId: challengeIdInput,
        code: secondFactorCodeInput,
        // Accepted for symmetry with tokens.issue; the name given there is the one kept.
        deviceName: deviceNameInput.optional(),
        deviceKey: deviceKeyValue,
      }),
    )
    .use(signInPerIp)
    .mutation(({ ctx, input }) => verifyTokenSecondFactor(ctx.services, input, tokenClient(ctx, input.deviceKey))),

  /** After approval: the tokens (`status: "issued"`), or `{ status: "approval_pending" }` while the code is not entered yet. */
  complete: cookielessProcedure
    .input(z.object({ requestId, approvalSecret: opaque("approvalSecret"), deviceName: deviceNameInput, deviceKey }))
    .mutation(({ ctx, input }) => completeTokenApproval(ctx.services, input, tokenClient(ctx, input.deviceKey))),

  /** A signed-in browser (or token client) mints tokens for a companion app: a device and session of their own. */
  issueFromSession: recentAuthProcedure
    .input(z.object({ deviceName: deviceNameInput, deviceKey }))
    .use(rateLimited((ctx) => [[ctx.services.rateLimits.tokensFromSessionPerUser, ctx.user.id]], "Too many app sign-ins created from your sessions."))
    .mutation(({ ctx, input }) => issueTokensFromSession(ctx.services, ctx.session, input, tokenClient(ctx, input.deviceKey))),

  /** Rotates the refresh token (the old one stops working). Reusing a rotated one ends the session. */
  refresh: cookielessProcedure
    .input(z.object({ refreshToken: opaque("refreshToken") }))
    .mutation(({ ctx, input }) => refreshTokens(ctx.services, input.refreshToken, { ip: ctx.ip() })),

  /** Ends the calling token's session; `{ scope: "token" }` revokes only this access token. */
  revoke: protectedProcedure
    .input(z.object({ scope: z.enum(["session", "token"], { message: "scope must be session or token" }).default("session") }).optional())
    .mutation(({ ctx, input }) => {
      if (!ctx.accessToken)
        throw new AuthError("BAD_REQUEST", "tokens.revoke needs Authorization: Bearer <access token>; a browser signs out with auth.logout.", {
          reason: "bearer_required",
        });
      return revokeTokens(ctx.services, ctx.session, ctx.accessToken, input?.scope ?? "session", ctx.ip());
    }),
});
