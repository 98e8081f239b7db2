import { z } from "zod";
import { actorOf } from "~/server/auth/actor";
import { passkeyId, passkeyName, registrationResponseInput } from "~/server/passkeys/inputs";
import { listPasskeys, reauthOptions, registerPasskey, registrationOptions, removePasskey, renamePasskey } from "~/server/passkeys/passkeys";
import { createTRPCRouter, protectedProcedure, recentAuthProcedure } from "../trpc";

export const passkeysRouter = createTRPCRouter({
  /** Fresh authentication. WebAuthn creation options (PublicKeyCredentialCreationOptionsJSON) for startRegistration; the challenge is bound to this session. */
  registrationOptions: recentAuthProcedure.mutation(({ ctx }) =>
    registrationOptions(ctx.services, { ...actorOf(ctx.session, ctx.ip()), email: ctx.user.email }),
  ),

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
  reauthOptions: protectedProcedure.mutation(({ ctx }) => reauthOptions(ctx.services, actorOf(ctx.session, ctx.ip()))),
});
