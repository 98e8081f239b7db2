import type { Db } from "~/server/platform/db";
import type { Mailer } from "~/server/platform/mail";
import { parseUserAgent } from "~/server/devices/device";
import type { DeviceCache, UserDevices } from "~/server/devices/device-cache";
import { AuthError } from "~/server/platform/errors";
import type { UserEventFeed } from "~/server/live/events";
import type { ApprovalStore } from "~/server/approvals/store";
import { cancelApprovals } from "~/server/approvals/new-device";
import type { HandoffStore } from "~/server/handoff/store";
import { locate, locateAll } from "~/server/platform/geo";
import { notify } from "~/server/security/notify";
import { confirmPassword, hashNewPassword, requireRecentAuth } from "~/server/account/reauth";
import { recordSecurityEvent } from "~/server/security/security-events";
import type { Session, SessionStore } from "~/server/sessions/store";
import type { AccountThrottle } from "~/server/security/throttle";
import type { Actor } from "~/server/auth/types";

// What a signed-in user can see and do about their own sessions and devices. Every function
// takes the acting session and only ever touches that user's records.

export interface ControlDeps {
  db: Db;
  sessions: SessionStore;
  deviceCache: DeviceCache;
  events: UserEventFeed;
  handoffs: HandoffStore;
  approvals: ApprovalStore;
  config: { reauthMs?: number };
  mailer?: Mailer;
}

export const actorOf = (session: Session, ip: string): Actor => ({ userId: session.userId, sessionId: session.id, deviceId: session.deviceId, ip });

const deviceSelect = { id: true, name: true, browser: true, os: true, deviceType: true } as const;

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
async function sessionsAndDevices(deps: ControlDeps, userId: string): Promise<[Session[], UserDevices]> {
  const [sessions, cached] = await Promise.all([deps.sessions.listUserSessions(userId), deps.deviceCache.get(userId, () => loadUserDevices(deps.db, userId))]);
  const ids = new Set(cached.devices.map((d) => d.id));
  return [sessions, sessions.every((s) => ids.has(s.deviceId)) ? cached : await loadUserDevices(deps.db, userId)];
}

export async function listSessions(deps: ControlDeps, actor: Actor) {
  const [sessions, known] = await sessionsAndDevices(deps, actor.userId);
  const byId = new Map(known.devices.map(({ id, name, browser, os, deviceType }) => [id, { id, name, browser, os, deviceType }]));
  const places = await locateAll(sessions.map((s) => s.ip));
  return sessions
    .map((s) => ({
      id: s.id,
      current: s.id === actor.sessionId,
      method: s.method,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      idleExpiresAt: s.idleExpiresAt,
      absoluteExpiresAt: s.absoluteExpiresAt,
      ip: s.ip,
      location: places.get(s.ip)!.label,
      // A device row removed from the database: the session still shows, as an unknown device.
      device: byId.get(s.deviceId) ?? { id: s.deviceId, name: "Unknown device", browser: null, os: null, deviceType: "other" },
    }))
    .sort((a, b) => Number(b.current) - Number(a.current) || b.lastSeenAt.getTime() - a.lastSeenAt.getTime());
}

export async function revokeSession(deps: ControlDeps, actor: Actor, sessionId: string) {
  // Scoped to the actor's user inside the Redis script: another user's id is simply not found.
  if (!(await deps.sessions.deleteSession(sessionId, actor.userId))) {
    throw new AuthError("NOT_FOUND", "No such session. It may have ended already.");
  }
  await recordSecurityEvent(deps.db, { type: "session_revoked", userId: actor.userId, sessionId, ip: actor.ip, detail: { by: actor.sessionId } });
  await deps.events.publish(actor.userId, { type: "revoked", sessionIds: [sessionId], reason: "revoked" });
  return { current: sessionId === actor.sessionId };
}

export async function revokeOtherSessions(deps: ControlDeps, actor: Actor) {
  const ended = await deps.sessions.deleteUserSessions(actor.userId, { except: actor.sessionId, newEpoch: true });
  await recordSecurityEvent(deps.db, {
    type: "sessions_revoked_others",
    userId: actor.userId,
    sessionId: actor.sessionId,
    ip: actor.ip,
    detail: { ended },
  });
  if (ended.length) await deps.events.publish(actor.userId, { type: "revoked", sessionIds: ended, reason: "revoked_others" });
  return ended.length;
}

/**
 * Emergency lockout ("someone is in my account"): with the current password (throttled like a
 * sign-in), ends every session of the user, this one included, and every sign-in in flight (the
 * epoch, sessions/store.ts); cancels open QR handoffs and approval requests; and drops the trust of every
 * device, so the next sign-in anywhere is a new device (the first gets a session, the others need
 * its approval). With `newPassword` the password changes in the same step: it is written before the
 * sessions end, so a sign-in that checked the old password cannot land after the lockout either.
 */
export async function lockout(deps: ControlDeps & { throttle: AccountThrottle }, actor: Actor, input: { password: string; newPassword?: string }) {
  const user = await confirmPassword(deps, actor, input.password, {
    type: "lockout_failed",
    wrong: () => new AuthError("UNAUTHORIZED", "Wrong password. Nothing was changed.", undefined, "wrong_password"),
  });
  if (input.newPassword !== undefined) {
    const passwordHash = await hashNewPassword(input.password, input.newPassword);
    await deps.db.user.update({ where: { id: actor.userId }, data: { passwordHash } });
  }
  const distrusted = await distrustDevices(deps, actor.userId);
  const ended = await deps.sessions.deleteUserSessions(actor.userId, { newEpoch: true });
  const cancelledHandoffs = await deps.handoffs.cancelForUser(actor.userId);
  const cancelledApprovals = await cancelApprovals(deps, actor.userId);
  const passwordChanged = input.newPassword !== undefined;
  await recordSecurityEvent(deps.db, {
    type: "lockout",
    userId: actor.userId,
    sessionId: actor.sessionId,
    ip: actor.ip,
    detail: { ended, cancelledHandoffs, cancelledApprovals, distrustedDevices: distrusted, passwordChanged },
  });
  if (passwordChanged)
    await recordSecurityEvent(deps.db, { type: "password_changed", userId: actor.userId, sessionId: actor.sessionId, ip: actor.ip, detail: { by: "lockout" } });
  await deps.events.publish(actor.userId, { type: "locked_out", sessionIds: ended });
  const where = { ip: actor.ip, place: await locate(actor.ip) };
  notify.lockout(deps.mailer, user.email, where, ended.length);
  if (passwordChanged) notify.passwordChanged(deps.mailer, user.email, where, 0);
  return { ended: ended.length, passwordChanged, distrustedDevices: distrusted.length };
}

/** Forgets every device of the user (as forgetDevice does one): their cookies no longer make a known device. */
async function distrustDevices(deps: ControlDeps, userId: string): Promise<string[]> {
  const rows = await deps.db.$queryRaw<{ id: string }[]>`
    UPDATE "Device" SET "forgottenAt" = now(), "cookieHash" = 'forgotten:' || "id"::text
    WHERE "userId" = ${userId}::uuid AND "forgottenAt" IS NULL
    RETURNING "id"::text AS "id"`;
  await deps.deviceCache.invalidate(userId);
  return rows.map((r) => r.id);
}

export async function loginHistory(deps: ControlDeps, userId: string, page: { cursor?: string; limit: number }) {
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

export async function listDevices(deps: ControlDeps, actor: Actor) {
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

export async function renameDevice(deps: ControlDeps, actor: Actor, deviceId: string, name: string) {
  const { count } = await deps.db.device.updateMany({ where: { id: deviceId, userId: actor.userId, forgottenAt: null }, data: { name } });
  if (count === 0) throw new AuthError("NOT_FOUND", "No such device.");
  await deps.deviceCache.invalidate(actor.userId);
  await recordSecurityEvent(deps.db, { type: "device_renamed", userId: actor.userId, deviceId, ip: actor.ip, detail: { name } });
  await deps.events.publish(actor.userId, { type: "device_updated", deviceId });
  return { id: deviceId, name };
}

/** Ends the device's sessions and removes it; its next sign-in counts as a new device. */
export async function forgetDevice(deps: ControlDeps, actor: Actor, deviceId: string) {
  if (deps.config.reauthMs) await requireRecentAuth(deps.sessions, actor.sessionId, deps.config.reauthMs);
  const device = await deps.db.device.findFirst({ where: { id: deviceId, userId: actor.userId, forgottenAt: null }, select: { cookieHash: true } });
  if (!device) throw new AuthError("NOT_FOUND", "No such device.");
  // Rewriting the cookie hash first means a sign-in racing with this one already gets a new device.
  const { count } = await deps.db.device.updateMany({
    where: { id: deviceId, userId: actor.userId, forgottenAt: null },
    data: { forgottenAt: new Date(), cookieHash: `forgotten:${deviceId}` },
  });
  if (count === 0) throw new AuthError("NOT_FOUND", "No such device.");
  await deps.deviceCache.invalidate(actor.userId);
  const ended = await deps.sessions.deleteUserSessions(actor.userId, { deviceId });
  await cancelApprovals(deps, actor.userId, device.cookieHash);
  await recordSecurityEvent(deps.db, { type: "device_forgotten", userId: actor.userId, deviceId, sessionId: actor.sessionId, ip: actor.ip, detail: { ended } });
  if (ended.length) await deps.events.publish(actor.userId, { type: "revoked", sessionIds: ended, reason: "device_forgotten" });
  await deps.events.publish(actor.userId, { type: "device_updated", deviceId });
  return { ended: ended.length, current: deviceId === actor.deviceId };
}
