import { z } from "zod";
import { watchState } from "~/server/live/watch";
import { actorOf } from "~/server/auth/actor";
import { clearHandoffCookie, handoffCookie, secretFor } from "~/server/platform/cookies";
import { claim, complete, decide, inspect, offer, startSignIn, watchState as watchHandoff } from "~/server/handoff/qr-sign-in";
import { replaceSession } from "../session-cookie";
import { createTRPCRouter, maybeSignedInProcedure, protectedProcedure, publicProcedure, rateLimited, recentAuthProcedure, verifiedProcedure } from "../trpc";

const token = z.object({
  token: z.string({ message: "A QR token is required" }).min(1, { message: "A QR token is required" }).max(256, { message: "This QR code is no longer valid" }),
});
const requestId = z.object({ id: z.string({ message: "A request id is required" }).regex(/^[A-Za-z0-9_-]{16,64}$/, { message: "No such request" }) });

const QR_LIMIT = "Too many QR codes requested.";
const qrPerIp = rateLimited((ctx) => [[ctx.services.rateLimits.handoffPerIp, ctx.network()]], QR_LIMIT);

const FINAL = new Set(["completed", "denied", "cancelled", "expired"]);

export const handoffRouter = createTRPCRouter({
  /** Flow A (new device): a QR for a signed-in phone to scan. Binds this browser with a secret cookie. */
  start: publicProcedure.use(qrPerIp).mutation(async ({ ctx }) => {
    const created = await startSignIn(ctx.services, ctx.client());
    ctx.setCookie(
      handoffCookie(created.id, created.browserSecret, { secure: ctx.services.config.secureCookies, maxAgeSeconds: ctx.services.config.handoffTtlSeconds }),
    );
    return { id: created.id, qrUrl: created.qrUrl, expiresAt: created.expiresAt };
  }),

  /** Flow B (signed-in device): a QR another device scans to continue there. */
  offer: verifiedProcedure
    .use(
      rateLimited(
        (ctx) => [
          [ctx.services.rateLimits.handoffPerUser, ctx.user.id],
          [ctx.services.rateLimits.handoffPerIp, ctx.network()],
        ],
        QR_LIMIT,
      ),
    )
    .mutation(({ ctx }) => offer(ctx.services, actorOf(ctx.session, ctx.ip()), ctx.client().userAgent)),

  /** Flow A (phone): who is asking, with warnings; the first signed-in scanner becomes the approver. */
  inspect: protectedProcedure
    .input(token)
    .mutation(({ ctx, input }) => inspect(ctx.services, actorOf(ctx.session, ctx.ip()), input.token, ctx.client().userAgent)),

  /** Flow B (other device): claims the offer for this browser, which then waits for approval. */
  claim: publicProcedure
    .input(token)
    .use(qrPerIp)
    .mutation(async ({ ctx, input }) => {
      const id = input.token.split(".")[0] ?? "";
      const { browserSecret, ...state } = await claim(ctx.services, input.token, ctx.client(), secretFor(ctx.handoffCookie, id));
      ctx.setCookie(
        handoffCookie(state.id, browserSecret, { secure: ctx.services.config.secureCookies, maxAgeSeconds: ctx.services.config.handoffTtlSeconds }),
      );
      return state;
    }),

  approve: recentAuthProcedure.input(token).mutation(({ ctx, input }) => decide(ctx.services, actorOf(ctx.session, ctx.ip()), input.token, "approved")),

  deny: protectedProcedure.input(token).mutation(({ ctx, input }) => decide(ctx.services, actorOf(ctx.session, ctx.ip()), input.token, "denied")),

  /** The waiting browser collects its own new session, with the secret cookie only it holds. */
  complete: publicProcedure.input(requestId).mutation(async ({ ctx, input }) => {
    const signedIn = await complete(ctx.services, input.id, secretFor(ctx.handoffCookie, input.id), ctx.client());
    await replaceSession(ctx, signedIn);
    ctx.setCookie(clearHandoffCookie(ctx.services.config.secureCookies));
    return { status: "signed_in" as const, user: signedIn.user, signedOut: signedIn.signedOut };
  }),

  /**
   * Status updates for the two waiting sides (SSE): the recipient browser (by its cookie) and the
   * owner (by session). Read when the live hub says the request changed (every HANDOFF_POLL_MS
   * while it cannot say); sends each change; ends at a final state.
   */
  watch: maybeSignedInProcedure.input(requestId).subscription(({ ctx, input, signal }) => {
    const viewer = { browserSecret: secretFor(ctx.handoffCookie, input.id), userId: ctx.session?.userId ?? null, ip: ctx.ip() };
    return watchState({
      read: () => watchHandoff(ctx.services, input.id, viewer),
      final: FINAL,
      // The owner also learns who scanned (the recipient's address arriving is a change).
      fingerprint: (state) => JSON.stringify([state.status, "recipient" in state ? state.recipient?.ip : null]),
      recordId: input.id,
      live: ctx.services.live,
      pollMs: ctx.services.config.handoffPollMs,
      streams: ctx.services.openStreams,
      owner: { sessionId: ctx.session?.id, ip: ctx.ip() },
      signal,
    });
  }),
});
