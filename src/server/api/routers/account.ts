import { z } from "zod";
import { newPasswordInput, passwordInput } from "~/lib/credentials";
import { actorOf } from "~/server/auth/actor";
import { changePassword, reauthenticate } from "~/server/account/reauth";
import { createTRPCRouter, protectedProcedure } from "../trpc";

export const accountRouter = createTRPCRouter({
  /**
   * The current password, a new one (8 to 256 characters), and whether to end every other session.
   * -> `{ ok: true, signedOutSessions }`. A wrong current password: BAD_REQUEST "Wrong password."
   */
  changePassword: protectedProcedure
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
});
