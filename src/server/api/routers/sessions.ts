import { z } from "zod";
import { newPasswordInput } from "~/lib/credentials";
import { actorOf } from "~/server/auth/actor";
import { loginHistory } from "~/server/auth/login-history";
import { lockout } from "~/server/sessions/lockout";
import { listSessions, revokeOtherSessions, revokeSession } from "~/server/sessions/user-sessions";
import { sessionCapStatus } from "~/server/sessions/cap";
import { clearSessionCookie } from "~/server/platform/cookies";
import { feedPositionInput, watchFeed } from "~/server/live/watch";
import { createTRPCRouter, protectedProcedure } from "../trpc";

const id = z.string({ message: "An id is required" }).min(1, { message: "An id is required" }).max(128, { message: "That id is too long" });

export const sessionsRouter = createTRPCRouter({
  /** Every live session of the user: this one first, then the most recently used. */
  list: protectedProcedure.query(({ ctx }) => listSessions(ctx.services, actorOf(ctx.session, ctx.ip()))),

  /**
   * The session cap: `{ limit (0 = none), policy, active, wouldSignOut }`; wouldSignOut is the
   * session one more sign-in would end (`{ sessionId, deviceName, lastSeenAt }`), or null.
   */
  cap: protectedProcedure.query(({ ctx }) => sessionCapStatus(ctx.services, ctx.user.id)),

  revoke: protectedProcedure.input(z.object({ sessionId: id })).mutation(async ({ ctx, input }) => {
    const result = await revokeSession(ctx.services, actorOf(ctx.session, ctx.ip()), input.sessionId);
    if (result.current) ctx.setCookie(clearSessionCookie(ctx.services.config.secureCookies));
    return { ok: true as const, current: result.current };
  }),

  revokeOthers: protectedProcedure.mutation(async ({ ctx }) => ({
    count: await revokeOtherSessions(ctx.services, actorOf(ctx.session, ctx.ip())),
  })),

  /**
   * The password (and optionally a new one, by the same rules as account.changePassword) ->
   * `{ ok: true, count }`: every session ends, this one too, and every device must sign in as a
   * new device again.
   */
  lockout: protectedProcedure
    .input(
      z.object({
        password: z.string({ message: "Password is required" }).min(1, { message: "Password is required" }).max(1024),
        newPassword: newPasswordInput.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const result = await lockout(ctx.services, actorOf(ctx.session, ctx.ip()), input);
      ctx.setCookie(clearSessionCookie(ctx.services.config.secureCookies));
      return { ok: true as const, count: result.ended };
    }),

  history: protectedProcedure
    .input(
      z
        .object({
          cursor: z.uuid({ message: "Invalid cursor" }).nullish(),
          limit: z
            .number({ message: "limit must be a number" })
            .int()
            .min(1, { message: "limit must be 1 to 100" })
            .max(100, { message: "limit must be 1 to 100" })
            .default(20),
        })
        .default({ limit: 20 }),
    )
    .query(({ ctx, input }) => loginHistory(ctx.services, ctx.user.id, { cursor: input.cursor ?? undefined, limit: input.limit })),

  /**
   * Live feed for the user's open pages (SSE): read when the instance's live hub says it changed
   * (every LIVE_POLL_MS while the hub cannot say); when this page's own session is gone it sends a
   * final `revoked` event naming it, then ends.
   */
  onEvent: protectedProcedure.input(feedPositionInput).subscription(({ ctx, input, signal }) =>
    watchFeed(ctx.services.events, {
      userId: ctx.user.id,
      sessionId: ctx.session.id,
      lastEventId: input?.lastEventId,
      live: ctx.services.live,
      pollMs: ctx.services.config.livePollMs,
      streams: ctx.services.openStreams,
      ip: ctx.ip(),
      signal,
      whenSessionEnds: "tell",
    }),
  ),
});
