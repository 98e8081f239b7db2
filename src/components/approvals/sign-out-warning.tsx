import { timeAgo } from "~/lib/time";

/** The session a new sign-in would end under the `evict-oldest` cap (sessions.cap, a pending request, handoff.inspect). */
export interface WouldSignOut {
  sessionId: string;
  deviceName: string;
  lastSeenAt: Date;
}

/**
 * `wouldSignOut` of a server result that may carry it: undefined when the result does not say
 * (then the account-wide `sessions.cap` answer applies), null when nobody would be signed out.
 */
function wouldSignOutOf(source: unknown): WouldSignOut | null | undefined {
  if (typeof source !== "object" || source === null || !("wouldSignOut" in source)) return undefined;
  return (source as { wouldSignOut?: WouldSignOut | null }).wouldSignOut ?? null;
}

/** What the request itself says, else what the account's cap says. */
export function pickWouldSignOut(source: unknown, cap: { wouldSignOut: WouldSignOut | null } | undefined): WouldSignOut | null {
  const own = wouldSignOutOf(source);
  return own === undefined ? (cap?.wouldSignOut ?? null) : own;
}

/** Said before the user approves a sign-in that will end another device's session. */
export function SignOutWarning({ who, limit }: { who: WouldSignOut | null; limit?: number }) {
  if (!who) return null;
  return (
    <p className="rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="would-sign-out">
      {limit ? `You are at your limit of ${limit} sessions: approving` : "Approving"} will sign out{" "}
      <strong className="font-semibold">
        <bdi>{who.deviceName}</bdi>
      </strong>{" "}
      (last active {timeAgo(who.lastSeenAt)}).
    </p>
  );
}
