import type { Db } from "~/server/platform/db";
import type { Session, SessionStore } from "~/server/sessions/store";

export interface AccountStatus {
  email: string;
  emailVerified: boolean;
}

/** The account's address and whether it is verified, from the database (the truth). */
export async function loadAccountStatus(db: Db, userId: string): Promise<AccountStatus | null> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { email: true, emailVerifiedAt: true } });
  return user && { email: user.email, emailVerified: user.emailVerifiedAt !== null };
}

type StatusDeps = { db: Db; sessions: Pick<SessionStore, "setUserAccount"> };

// auth.me answers every page load and is the session-validation benchmark, so it answers from the
// session that validation has just read: sessions carry the address and whether it is verified,
// set when they are opened and rewritten in every live session by each change (setUserAccount).
// A separate lookup per call (PostgreSQL, or a Redis entry) cost one more round trip per request.
// Only a session opened before sessions kept the flag is looked up, once: the answer is written back.
export async function accountStatusOf(deps: StatusDeps, session: Pick<Session, "userId" | "email" | "emailVerified">): Promise<AccountStatus | null> {
  if (session.emailVerified !== null) return { email: session.email, emailVerified: session.emailVerified };
  const status = await loadAccountStatus(deps.db, session.userId);
  if (status) await deps.sessions.setUserAccount(session.userId, status);
  return status;
}

/**
 * A session opened for an unverified account, right after a verification may have landed: the
 * sign-in read the row before the verification's write, and the verification told the user's
 * sessions before this one existed. Reading the row again after the session exists closes the gap
 * (a verification written after this read tells this session itself).
 */
export async function catchUpVerification(deps: StatusDeps, userId: string): Promise<void> {
  const status = await loadAccountStatus(deps.db, userId);
  if (status?.emailVerified) await deps.sessions.setUserAccount(userId, status);
}
