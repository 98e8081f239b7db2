import { tracked } from "@trpc/server";
import { z } from "zod";
import { newPasswordInput } from "~/lib/credentials";
import { sleep } from "~/lib/sleep";
import { actorOf } from "~/server/auth/actor";
import { loginHistory } from "~/server/auth/login-history";
import { lockout } from "~/server/sessions/lockout";
import { listSessions, revokeOtherSessions, revokeSession } from "~/server/sessions/user-sessions";
import { sessionCapStatus } from "~/server/sessions/cap";
import { clearSessionCookie } from "~/server/platform/cookies";
import type { UserEvent } from "~/server/live/events";
import { LIVE_LATE_EVENT_WAIT_MS } from "~/server/policy";
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
   * Live feed for the user's open pages (SSE). Polls Redis every LIVE_POLL_MS; when this page's
   * own session is gone it sends a final `revoked` event naming it, then ends.
   */
  onEvent: protectedProcedure
    .input(
      z
        .object({
          lastEventId: z
            .string()
            .regex(/^\d{1,15}$/, "lastEventId is a feed position (digits)")
            .nullish(),
        })
        .optional(),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      const { events, config } = ctx.services;
      const own = ctx.session.id;
      let seq = input?.lastEventId != null ? Number(input.lastEventId) : await events.currentSeq(ctx.user.id);
      while (!signal?.aborted) {
        const polled = await events.poll(ctx.user.id, own, seq);
        for (const event of polled.events) yield tracked(String(event.seq), event as UserEvent);
        seq = polled.seq;
        if (!polled.alive) {
          let told = polled.events.some((e) => "sessionIds" in e && e.sessionIds.includes(own));
          if (!told) {
            // Services end sessions first and tell the feed right after: give that event a moment
            // to arrive, so the page says "revoked" (or why) rather than "expired".
            await sleep(Math.min(config.livePollMs, LIVE_LATE_EVENT_WAIT_MS), signal);
            const late = await events.poll(ctx.user.id, own, seq);
            for (const event of late.events) yield tracked(String(event.seq), event as UserEvent);
            seq = late.seq;
            told = late.events.some((e) => "sessionIds" in e && e.sessionIds.includes(own));
          }
          if (!told) yield tracked(String(seq), { type: "revoked", sessionIds: [own], reason: "expired", at: new Date().toISOString() } as UserEvent);
          return;
        }
        await sleep(config.livePollMs, signal);
      }
    }),
});
