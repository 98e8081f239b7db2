import { z } from "zod";
import { deviceNameInput } from "~/server/devices/device-name";
import { actorOf } from "~/server/auth/actor";
import { forgetDevice, listDevices, renameDevice } from "~/server/devices/user-devices";
import { clearSessionCookie } from "~/server/platform/cookies";
import { AuthError } from "~/server/platform/errors";
import { createTRPCRouter, protectedProcedure, recentAuthProcedure } from "../trpc";

const deviceId = z.uuid({ message: "No such device." });

export const devicesRouter = createTRPCRouter({
  /** Every device that ever signed in and was not forgotten, with its sessions and IPs. */
  list: protectedProcedure.query(({ ctx }) => listDevices(ctx.services, actorOf(ctx.session, ctx.ip()))),

  /** The device this session signed in from. */
  current: protectedProcedure.query(async ({ ctx }) => {
    const device = await ctx.services.db.device.findFirst({
      where: { id: ctx.session.deviceId, userId: ctx.user.id },
      select: { id: true, name: true, browser: true, os: true, deviceType: true, firstSeenAt: true, lastSeenAt: true },
    });
    if (!device) throw new AuthError("NOT_FOUND", "This device is no longer known.", { reason: "device_not_found" });
    return { ...device, ip: ctx.session.ip };
  }),

  rename: protectedProcedure
    .input(
      z.object({
        deviceId,
        name: deviceNameInput,
      }),
    )
    .mutation(({ ctx, input }) => renameDevice(ctx.services, actorOf(ctx.session, ctx.ip()), input.deviceId, input.name)),

  /** Ends the device's sessions and removes it from the list; its next sign-in is a new device. */
  forget: recentAuthProcedure.input(z.object({ deviceId })).mutation(async ({ ctx, input }) => {
    const result = await forgetDevice(ctx.services, actorOf(ctx.session, ctx.ip()), input.deviceId);
    if (result.current) ctx.setCookie(clearSessionCookie(ctx.services.config.secureCookies));
    return { ok: true as const, endedSessions: result.ended, current: result.current };
  }),
});
