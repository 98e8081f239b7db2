import type { Db } from "~/server/platform/db";
import { deviceNameOf } from "~/server/devices/device";
import type { SessionCap, SessionStore } from "~/server/sessions/store";

/**
 * The session cap as it stands: the limit, the policy, the live sessions, and under evict-oldest
 * at the cap, the session one more sign-in would end (the least recently used, as the create
 * script picks it), so a page can say so before the user approves or signs in.
 */
export async function sessionCapStatus(deps: { db: Db; sessions: SessionStore; config: { sessionCap: SessionCap } }, userId: string) {
  const { limit, policy } = deps.config.sessionCap;
  const sessions = await deps.sessions.listUserSessions(userId);
  let wouldSignOut: { sessionId: string; deviceName: string; lastSeenAt: Date } | null = null;
  if (limit > 0 && policy === "evict-oldest" && sessions.length >= limit) {
    const oldest = sessions.reduce((a, b) => (b.lastSeenAt.getTime() < a.lastSeenAt.getTime() ? b : a));
    wouldSignOut = { sessionId: oldest.id, deviceName: await deviceNameOf(deps.db, oldest.deviceId), lastSeenAt: oldest.lastSeenAt };
  }
  return { limit, policy, active: sessions.length, wouldSignOut };
}
