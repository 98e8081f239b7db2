import { clientBlockOf } from "~/server/platform/client-ip";
import { AuthError } from "~/server/platform/errors";
import { metrics } from "~/server/platform/metrics";

// An open live stream (SSE) costs Redis nothing while it is quiet (live/hub.ts), but it holds an
// HTTP connection and about 160 KB of this instance's memory (BENCHMARKS.md, live updates) for as
// long as the client keeps it open. Anyone can register and then open thousands from one cookie,
// so each session and each client address may hold only so many at once on an instance.
//
// Counted here, in the instance, not in Redis: the memory being protected is the instance's, a
// count in Redis would outlive an instance that crashed with streams open, and the check and the
// increment run in one synchronous step of a single-threaded process, so concurrent opens cannot
// both take the last slot.

export interface StreamLimits {
  /** Open streams one session may hold on an instance (its tabs, each page's subscriptions). */
  perSession: number;
  /** Open streams one client address (an IPv6 /64) may hold on an instance (sessions behind one NAT add up). */
  perAddress: number;
}

/** Who opens a stream: the address always, the session when the page is signed in. */
export interface StreamOwner {
  sessionId?: string | null;
  ip: string;
}

export class OpenStreams {
  private readonly bySession = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: StreamLimits) {}

  /**
   * Counts one more open stream for `owner`, or refuses it (TOO_MANY_REQUESTS, reason
   * `too_many_streams`) when the session or the address already holds its limit. Returns the
   * function that gives the slot back (safe to call more than once).
   */
  open(owner: StreamOwner): () => void {
    const session = owner.sessionId ?? null;
    const address = clientBlockOf(owner.ip);
    if (session !== null && (this.bySession.get(session) ?? 0) >= this.limits.perSession) this.refuse("session", this.limits.perSession);
    if ((this.byAddress.get(address) ?? 0) >= this.limits.perAddress) this.refuse("address", this.limits.perAddress);
    if (session !== null) add(this.bySession, session, 1);
    add(this.byAddress, address, 1);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      if (session !== null) add(this.bySession, session, -1);
      add(this.byAddress, address, -1);
    };
  }

  /** Streams open now for a session or an address's block (for tests). */
  count(owner: { sessionId?: string; ip?: string }): number {
    return owner.sessionId !== undefined ? (this.bySession.get(owner.sessionId) ?? 0) : (this.byAddress.get(clientBlockOf(owner.ip ?? "")) ?? 0);
  }

  private refuse(by: "session" | "address", limit: number): never {
    metrics().rateLimitHits.inc({ limit: `live-streams:${by}` });
    const holder = by === "session" ? "This session" : "This network address";
    throw new AuthError("TOO_MANY_REQUESTS", `${holder} already has ${limit} live update streams open: close some pages, then reload.`, {
      reason: "too_many_streams",
    });
  }
}

function add(counts: Map<string, number>, key: string, delta: number): void {
  const next = (counts.get(key) ?? 0) + delta;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}
