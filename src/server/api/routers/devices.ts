import { TRPCError } from "@trpc/server";
import { createTRPCRouter, protectedProcedure } from "../trpc";

export const devicesRouter = createTRPCRouter({
  /** The device this session signed in from. */
  current: protectedProcedure.query(async ({ ctx }) => {
    const device = await ctx.services.db.device.findFirst({
      where: { id: ctx.session.deviceId, userId: ctx.user.id },
      select: { id: true, name: true, browser: true, os: true, deviceType: true, firstSeenAt: true, lastSeenAt: true },
    });
    if (!device) throw new TRPCError({ code: "NOT_FOUND", message: "This device is no longer known." });
    return { ...device, ip: ctx.session.ip };
  }),
});
