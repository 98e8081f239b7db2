import { parseUserAgent } from "~/server/devices/device";
import { deviceSelect } from "~/server/devices/user-devices";
import { locateAll } from "~/server/platform/geo";
import type { OwnRecordsDeps } from "~/server/auth/types";

export async function loginHistory(deps: OwnRecordsDeps, userId: string, page: { cursor?: string; limit: number }) {
  const rows = await deps.db.loginEvent.findMany({
    where: { userId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: page.limit + 1,
    ...(page.cursor ? { cursor: { id: page.cursor }, skip: 1 } : {}),
    include: { device: { select: deviceSelect } },
  });
  const items = rows.slice(0, page.limit);
  const places = await locateAll(items.map((e) => e.ip));
  return {
    items: items.map((e) => {
      const parsed = parseUserAgent(e.userAgent);
      return {
        id: e.id,
        createdAt: e.createdAt,
        method: e.method,
        outcome: e.outcome,
        reason: e.reason,
        /** new_device_new_country | impossible_travel, on a successful sign-in that looked suspicious */
        suspicious: e.suspicious,
        ip: e.ip,
        location: places.get(e.ip)!.label,
        device: e.device ?? { id: null, name: parsed.name, browser: parsed.browser, os: parsed.os, deviceType: parsed.deviceType },
      };
    }),
    nextCursor: rows.length > page.limit ? items[items.length - 1]!.id : null,
  };
}
