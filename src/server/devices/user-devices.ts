import type { Db } from "~/server/platform/db";
import type { UserDevices } from "~/server/devices/device-cache";
import { AuthError } from "~/server/platform/errors";
import { locateAll } from "~/server/platform/geo";
import { report } from "~/server/security/report";
import { endEverything } from "~/server/sessions/end-everything";
import type { ListedSession } from "~/server/sessions/store";
import type { Actor, OwnRecordsDeps } from "~/server/auth/types";

// What a signed-in user can see and do about their own devices. Every function takes the acting
// session and only ever touches that user's records.

export const deviceSelect = { id: true, name: true, browser: true, os: true, deviceType: true } as const;

async function loadUserDevices(db: Db, userId: string): Promise<UserDevices> {
  const [devices, addresses] = await Promise.all([
    db.device.findMany({
      where: { userId, forgottenAt: null },
      orderBy: { lastSeenAt: "desc" },
      select: { ...deviceSelect, firstSeenAt: true, lastSeenAt: true },
    }),
    db.loginEvent.groupBy({ by: ["deviceId", "ip"], where: { userId, outcome: "success", deviceId: { not: null } }, _max: { createdAt: true } }),
  ]);
  const kept = new Set(devices.map((d) => d.id));
  return {
    devices: devices.map((d) => ({ ...d, firstSeenAt: d.firstSeenAt.getTime(), lastSeenAt: d.lastSeenAt.getTime() })),
    addresses: addresses.flatMap((row) =>
      row.deviceId && kept.has(row.deviceId) && row._max.createdAt ? [{ deviceId: row.deviceId, ip: row.ip, at: row._max.createdAt.getTime() }] : [],
    ),
  };
}

/**
 * The user's sessions and devices as the lists show them; the devices read through the device
 * cache. A live session on a device the cached entry does not have yet (its sign-in is still
 * being recorded) reads the database directly instead.
 */
export async function sessionsAndDevices(deps: OwnRecordsDeps, userId: string): Promise<[ListedSession[], UserDevices]> {
  const [sessions, cached] = await Promise.all([deps.sessions.listUserSessions(userId), deps.deviceCache.get(userId, () => loadUserDevices(deps.db, userId))]);
  const ids = new Set(cached.devices.map((d) => d.id));
  return [sessions, sessions.every((s) => ids.has(s.deviceId)) ? cached : await loadUserDevices(deps.db, userId)];
}

export async function listDevices(deps: OwnRecordsDeps, actor: Actor) {
  const [sessions, known] = await sessionsAndDevices(deps, actor.userId);
  const ipsByDevice = new Map<string, Map<string, number>>();
  const noteIp = (deviceId: string, ip: string, at: number) => {
    const ips = ipsByDevice.get(deviceId) ?? new Map<string, number>();
    if ((ips.get(ip) ?? -Infinity) < at) ips.set(ip, at);
    ipsByDevice.set(deviceId, ips);
  };
  for (const row of known.addresses) noteIp(row.deviceId, row.ip, row.at);
  for (const s of sessions) noteIp(s.deviceId, s.ip, s.lastSeenAt.getTime());
  const places = await locateAll(known.devices.flatMap((d) => [...(ipsByDevice.get(d.id)?.keys() ?? [])]));

  return known.devices
    .map((d) => {
      const own = sessions.filter((s) => s.deviceId === d.id);
      const lastSeenAt = new Date(Math.max(d.lastSeenAt, ...own.map((s) => s.lastSeenAt.getTime())));
      const ips = [...(ipsByDevice.get(d.id) ?? new Map<string, number>())]
        .sort((a, b) => b[1] - a[1])
        .map(([address, at]) => ({ address, location: places.get(address)!.label, lastSeenAt: new Date(at) }));
      return {
        id: d.id,
        name: d.name,
        browser: d.browser,
        os: d.os,
        deviceType: d.deviceType,
        firstSeenAt: new Date(d.firstSeenAt),
        lastSeenAt,
        current: d.id === actor.deviceId,
        active: own.length > 0,
        activeSessions: own.length,
        ips,
      };
    })
    .sort((a, b) => Number(b.current) - Number(a.current) || Number(b.active) - Number(a.active) || b.lastSeenAt.getTime() - a.lastSeenAt.getTime());
}

export async function renameDevice(deps: OwnRecordsDeps, actor: Actor, deviceId: string, name: string) {
  const { count } = await deps.db.device.updateMany({ where: { id: deviceId, userId: actor.userId, forgottenAt: null }, data: { name } });
  if (count === 0) throw new AuthError("NOT_FOUND", "No such device.", { reason: "device_not_found" });
  await deps.deviceCache.invalidate(actor.userId);
  await report(deps, {
    userId: actor.userId,
    audit: { type: "device_renamed", deviceId, ip: actor.ip, detail: { name } },
    live: { type: "device_updated", deviceId },
  });
  return { id: deviceId, name };
}

/** Ends the device's sessions and removes it; its next sign-in counts as a new device. Its procedure needs fresh authentication. */
export async function forgetDevice(deps: OwnRecordsDeps, actor: Actor, deviceId: string) {
  const device = await deps.db.device.findFirst({ where: { id: deviceId, userId: actor.userId, forgottenAt: null }, select: { cookieHash: true } });
  if (!device) throw new AuthError("NOT_FOUND", "No such device.", { reason: "device_not_found" });
  // Rewriting the cookie hash first means a sign-in racing with this one already gets a new device.
  const { count } = await deps.db.device.updateMany({
    where: { id: deviceId, userId: actor.userId, forgottenAt: null },
    data: { forgottenAt: new Date(), cookieHash: `forgotten:${deviceId}` },
  });
  if (count === 0) throw new AuthError("NOT_FOUND", "No such device.", { reason: "device_not_found" });
  await deps.deviceCache.invalidate(actor.userId);
  const ended = await endEverything(deps, {
    userId: actor.userId,
    reason: "device_forgotten",
    device: { id: deviceId, cookieHash: device.cookieHash },
    cancelPending: true,
    report: (ended) => ({
      audit: { type: "device_forgotten", deviceId, sessionId: actor.sessionId, ip: actor.ip, detail: { ended: ended.sessions } },
      live: { type: "device_updated", deviceId },
    }),
  });
  return { ended: ended.sessions.length, current: deviceId === actor.deviceId };
}
