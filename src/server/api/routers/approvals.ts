import { z } from "zod";
import { approvalState, completeApproval, confirmApproval, denyApproval, pendingApprovals } from "~/server/approvals/new-device";
import { actorOf } from "~/server/auth/actor";
import { clearApprovalCookie, secretFor } from "~/server/platform/cookies";
import { feedPositionInput, watchFeed, watchState } from "~/server/live/watch";
import { replaceSession } from "../session-cookie";
import { createTRPCRouter, maybeSignedInProcedure, protectedProcedure, publicProcedure, verifiedProcedure } from "../trpc";

const requestId = z.string({ message: "A request id is required" }).regex(/^[A-Za-z0-9_-]{16,64}$/, { message: "No such request" });
const FINAL = new Set(["completed", "denied", "failed", "cancelled", "expired"]);

export const approvalsRouter = createTRPCRouter({
  /** Requests waiting for a code, for pages opened after they were made. */
  pending: protectedProcedure.query(({ ctx }) => pendingApprovals(ctx.services, ctx.user.id)),

  /**
   * Pushes each new request to the user's open pages the moment it is made, and its resolution
   * (`approval_resolved`) so prompts close everywhere.
   */
  onRequest: protectedProcedure.input(feedPositionInput).subscription(({ ctx, input, signal }) =>
    watchFeed(ctx.services.events, {
      userId: ctx.user.id,
      sessionId: ctx.session.id,
      lastEventId: input?.lastEventId,
      live: ctx.services.live,
      pollMs: ctx.services.config.livePollMs,
      streams: ctx.services.openStreams,
      ip: ctx.ip(),
      signal,
      types: ["approval_requested", "approval_resolved"],
      whenSessionEnds: "close",
    }),
  ),

  /** Right code: approved. Wrong: BAD_REQUEST with the attempts left; the 5th wrong code kills the request. */
  confirm: verifiedProcedure
    .input(
      z.object({
        requestId,
        code: z
          .string({ message: "Enter the 6-digit code" })
          .trim()
          .regex(/^\d{6}$/, { message: "Enter the 6-digit code" }),
      }),
    )
    .mutation(({ ctx, input }) => confirmApproval(ctx.services, actorOf(ctx.session, ctx.ip()), input.requestId, input.code)),

  deny: protectedProcedure
    .input(z.object({ requestId }))
    .mutation(({ ctx, input }) => denyApproval(ctx.services, actorOf(ctx.session, ctx.ip()), input.requestId)),

  /** The new device's view of its request (by its cookie), until a final state. */
  watch: maybeSignedInProcedure.input(z.object({ requestId })).subscription(({ ctx, input, signal }) => {
    const viewer = { browserSecret: secretFor(ctx.approvalCookie, input.requestId), userId: ctx.session?.userId ?? null };
    return watchState({
      read: () => approvalState(ctx.services, input.requestId, viewer),
      final: FINAL,
      recordId: input.requestId,
      live: ctx.services.live,
      pollMs: ctx.services.config.handoffPollMs,
      streams: ctx.services.openStreams,
      owner: { sessionId: ctx.session?.id, ip: ctx.ip() },
      signal,
    });
  }),

  /** Once approved, the new device collects its session (method `approval`) with its cookie. */
  complete: publicProcedure.input(z.object({ requestId })).mutation(async ({ ctx, input }) => {
    const signedIn = await completeApproval(ctx.services, input.requestId, secretFor(ctx.approvalCookie, input.requestId), ctx.client());
    await replaceSession(ctx, signedIn);
    ctx.setCookie(clearApprovalCookie(ctx.services.config.secureCookies));
    return { status: "signed_in" as const, user: signedIn.user, signedOut: signedIn.signedOut };
  }),
});
