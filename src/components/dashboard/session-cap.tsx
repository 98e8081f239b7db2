import type { WouldSignOut } from "~/components/approvals/sign-out-warning";
import { timeAgo } from "~/lib/time";

export interface SessionCapView {
  limit: number;
  policy: "reject" | "evict-oldest";
  active: number;
  wouldSignOut?: WouldSignOut | null;
}

const sessionsWord = (n: number) => (n === 1 ? "session" : "sessions");

/** "3 of 5 sessions", and what the next sign-in does at the limit (refused, or which device it signs out). */
export function SessionCap({ cap }: { cap: SessionCapView }) {
  const { limit, policy, active, wouldSignOut } = cap;
  if (limit === 0) {
    return (
      <p className="text-sm text-slate-600" data-testid="session-cap">
        <strong className="font-semibold text-slate-900">
          {active} {sessionsWord(active)}
        </strong>{" "}
        active, no limit.
      </p>
    );
  }
  const full = active >= limit;
  let rule: React.ReactNode;
  if (policy === "reject")
    rule = full ? "The limit is reached: new sign-ins are refused until you sign out a session." : "At the limit, new sign-ins are refused.";
  else if (full && wouldSignOut)
    rule = (
      <>
        The limit is reached: a new sign-in will sign out{" "}
        <strong className="font-semibold">
          <bdi>{wouldSignOut.deviceName}</bdi>
        </strong>{" "}
        (last active {timeAgo(wouldSignOut.lastSeenAt)}).
      </>
    );
  else rule = "At the limit, a new sign-in signs out the least recently used session.";
  return (
    <p
      className={`rounded-lg px-3 py-2 text-sm ${full ? "border border-amber-200 bg-amber-50 text-amber-900" : "text-slate-600 ring-1 ring-slate-200"}`}
      data-testid="session-cap"
    >
      <strong className={`font-semibold ${full ? "" : "text-slate-900"}`}>
        {active} of {limit} {sessionsWord(limit)}
      </strong>
      . {rule}
    </p>
  );
}
