import { sessionsAndDevices } from "~/server/devices/user-devices";
import { AuthError } from "~/server/platform/errors";
import { locateAll } from "~/server/platform/geo";
import { report } from "~/server/security/report";
import { endEverything } from "~/server/sessions/end-everything";
import type { Actor, OwnRecordsDeps } from "~/server/auth/types";

// What a signed-in user can see and do about their own sessions. Every function takes the acting
// session and only ever touches that user's records.

export async function listSessions(deps: OwnRecordsDeps, actor: Actor) {
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

export async function revokeSession(deps: OwnRecordsDeps, actor: Actor, sessionId: string) {
  // Scoped to the actor's user inside the Redis script: another user's id is simply not found.
  if (!(await deps.sessions.deleteSession(sessionId, actor.userId))) {
    throw new AuthError("NOT_FOUND", "No such session. It may have ended already.", { reason: "session_not_found" });
  }
  await report(deps, {
    userId: actor.userId,
    audit: { type: "session_revoked", sessionId, ip: actor.ip, detail: { by: actor.sessionId } },
    live: { type: "revoked", sessionIds: [sessionId], reason: "revoked" },
  });
  return { current: sessionId === actor.sessionId };
}

/** Every session but this one ends (sign-ins in flight too: the epoch); QR handoffs and approval requests stay. */
export async function revokeOtherSessions(deps: OwnRecordsDeps, actor: Actor) {
  const ended = await endEverything(deps, {
    userId: actor.userId,
    reason: "revoked_others",
    keepSessionId: actor.sessionId,
    cancelPending: false,
    report: (ended) => ({ audit: { type: "sessions_revoked_others", sessionId: actor.sessionId, ip: actor.ip, detail: { ended: ended.sessions } } }),
  });
  return ended.sessions.length;
}
