import type { Session } from "~/server/sessions/store";
import type { Actor } from "~/server/auth/types";

export const actorOf = (session: Session, ip: string): Actor => ({ userId: session.userId, sessionId: session.id, deviceId: session.deviceId, ip });
