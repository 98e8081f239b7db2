import { z } from "zod";
import { actorOf } from "~/server/auth/actor";
import { passkeyId, passkeyName, registrationResponseInput } from "~/server/passkeys/inputs";
import { listPasskeys, reauthOptions, registerPasskey, registrationOptions, removePasskey, renamePasskey } from "~/server/passkeys/passkeys";
import { createTRPCRouter, protectedProcedure, rateLimited, recentAuthProcedure } from "../trpc";

/** Passkey ceremonies started per client IP (each stores a challenge for 5 minutes): sign-in, registration and re-authentication options. */
export const passkeyPerIp = rateLimited((ctx) => [[ctx.services.rateLimits.passkeyPerIp, ctx.network()]], "Too many passkey requests from your network.");

export const passkeysRouter = createTRPCRouter({
  /** Fresh authentication. WebAuthn creation options (PublicKeyCredentialCreationOptionsJSON) for startRegistration; the challenge is bound to this session. */
  registrationOptions: recentAuthProcedure
    .use(passkeyPerIp)
    .mutation(({ ctx }) => registrationOptions(ctx.services, { ...actorOf(ctx.session, ctx.ip()), email: ctx.user.email })),

  /** Fresh authentication. `{ response, name }` -> `{ passkey }`; security event, email and a `passkeys_changed` live event. */
  register: recentAuthProcedure
    .input(z.object({ response: registrationResponseInput, name: passkeyName }))
    .mutation(({ ctx, input }) => registerPasskey(ctx.services, { ...actorOf(ctx.session, ctx.ip()), email: ctx.user.email }, input)),

  /** `[{ id, name, provider, aaguid, synced, backupEligible, transports, createdAt, lastUsedAt }]`, oldest first. */
  list: protectedProcedure.query(({ ctx }) => listPasskeys(ctx.services, ctx.session.userId)),

  rename: protectedProcedure
    .input(z.object({ id: passkeyId, name: passkeyName }))
    .mutation(({ ctx, input }) => renamePasskey(ctx.services, actorOf(ctx.session, ctx.ip()), input)),

  /** Fresh authentication. -> `{ ok: true }`. */
  remove: recentAuthProcedure
    .input(z.object({ id: passkeyId }))
    .mutation(({ ctx, input }) => removePasskey(ctx.services, { ...actorOf(ctx.session, ctx.ip()), email: ctx.user.email }, input.id)),

  /** Assertion options (PublicKeyCredentialRequestOptionsJSON) for account.reauthenticate({ passkey }), limited to this user's passkeys. */
  reauthOptions: protectedProcedure.use(passkeyPerIp).mutation(({ ctx }) => reauthOptions(ctx.services, actorOf(ctx.session, ctx.ip()))),
});
