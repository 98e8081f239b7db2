import type { Db } from "~/server/platform/db";
import type { Mailer } from "~/server/platform/mail";
import type { UserEventFeed, UserEventInput } from "~/server/live/events";
import type { SecurityMail } from "~/server/security/notify";
import { recordSecurityEvent } from "~/server/security/security-events";

// What happened to an account is told in up to three ways, always in this order and always
// through report(): the audit row (SecurityEvent, what the security activity and the tests read),
// then the live event(s) for the user's open pages (by then the row exists, so a page that
// refreshes on the event sees it), then the security email, which is best-effort: queued and never
// awaited; a failure to send is logged by the mailer, never thrown (platform/mail.ts).

export interface ReportDeps {
  db: Db;
  events: UserEventFeed;
  mailer: Mailer;
}

type AuditEntry = Omit<Parameters<typeof recordSecurityEvent>[1], "userId">;

/** One entry, several, or several with some left out (`false`/`null`/`undefined`: written as `cond && entry`). */
type Some<T> = T | readonly (T | false | null | undefined)[] | false | null | undefined;

export interface Report {
  userId: string;
  /** SecurityEvent rows, in order. */
  audit?: Some<AuditEntry>;
  /** Events for the user's open pages, in order. */
  live?: Some<UserEventInput>;
  /** Security email to the account's address. */
  mail?: Some<{ to: string; message: SecurityMail }>;
}

function all<T>(some: Some<T>): T[] {
  if (!some) return [];
  return (Array.isArray(some) ? some : [some]).filter((x): x is T => Boolean(x));
}

export async function report(deps: ReportDeps, what: Report): Promise<void> {
  for (const entry of all(what.audit)) await recordSecurityEvent(deps.db, { ...entry, userId: what.userId });
  const live = all(what.live);
  if (live.length > 0) await deps.events.publishAll(what.userId, live);
  for (const mail of all(what.mail)) deps.mailer.send({ to: mail.to, ...mail.message });
}
