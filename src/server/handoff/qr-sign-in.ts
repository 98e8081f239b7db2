import { isIP } from "node:net";
import { parseUserAgent } from "~/server/devices/device";
import { AuthError } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import type { HandoffOutcome, HandoffRecord, HandoffStore, Party } from "~/server/handoff/store";
import { randomToken } from "~/server/platform/crypto";
import { recordLoginEvent } from "~/server/auth/login-events";
import { report } from "~/server/security/report";
import { sessionCapStatus } from "~/server/sessions/cap";
import { startSession } from "~/server/auth/start-session";
import type { Actor, AuthDeps, ClientInfo, SignedIn } from "~/server/auth/types";

export interface HandoffDeps extends AuthDeps {
  handoffs: HandoffStore;
  config: AuthDeps["config"] & { appOrigin: string };
}

/** The QR points at a page of this app: /handoff/<token> approves a new device, /continue/<token> claims an offer. */
const qrUrl = (origin: string, kind: HandoffRecord["kind"], token: string) => `${origin}/${kind === "signin" ? "handoff" : "continue"}/${token}`;

const invalid = () => new AuthError("BAD_REQUEST", "This QR code is no longer valid", { reason: "qr_invalid" });

/** The record, or "This QR code is no longer valid" whatever the reason (expired, used, someone else's, wrong state). */
async function recordOf(work: Promise<HandoffOutcome>): Promise<HandoffRecord> {
  const outcome = await work;
  if (!outcome.ok) throw invalid();
  return outcome.record;
}

/** Same network: the same IPv4 /24 or IPv6 /64. */
function networkOf(ip: string): string {
  if (isIP(ip) === 4) return ip.split(".").slice(0, 3).join(".");
  const [head = "", tail = ""] = ip.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":");
}

/** What the UI shows about the other party: device, IP, place. */
async function describeParty(party: Party) {
  const ua = parseUserAgent(party.userAgent);
  const place = await locate(party.ip);
  return { name: ua.name, browser: ua.browser, os: ua.os, deviceType: ua.deviceType, ip: party.ip, location: place.label, countryCode: place.countryCode };
}

/**
 * The request as one side sees it. The owner (who decides) sees everything about the recipient;
 * the recipient sees only the name of the owner's device, never its IP or place (someone who
 * photographed an offer's QR must not learn where its owner is).
 */
async function describe(record: HandoffRecord, viewerIp: string, viewer: "owner" | "recipient") {
  const [recipient, ownerFull, viewerPlace] = await Promise.all([
    record.recipient ? describeParty(record.recipient) : null,
    record.owner ? describeParty(record.owner) : null,
    locate(viewerIp),
  ]);
  const owner = ownerFull && (viewer === "owner" ? ownerFull : { name: ownerFull.name });
  // Warnings are about the party asking for a session, compared with the device deciding.
  const warnings: { code: "different_network" | "different_country"; message: string }[] = [];
  if (recipient && viewer === "owner") {
    if (recipient.countryCode && viewerPlace.countryCode && recipient.countryCode !== viewerPlace.countryCode) {
      warnings.push({
        code: "different_country",
        message: `The request comes from ${recipient.location}, another country than this device (${viewerPlace.label}).`,
      });
    }
    if (networkOf(recipient.ip) !== networkOf(viewerIp)) {
      warnings.push({ code: "different_network", message: `The request comes from another network (${recipient.ip}) than this device (${viewerIp}).` });
    }
  }
  return { id: record.id, kind: record.kind, status: record.status, createdAt: record.createdAt, expiresAt: record.expiresAt, recipient, owner, warnings };
}

/** Flow A, on the new device: a QR to scan with a signed-in phone (rate-limited per IP by its procedure). */
export async function startSignIn(deps: HandoffDeps, client: ClientInfo) {
  const created = await deps.handoffs.create("signin", { ip: client.ip, userAgent: client.userAgent });
  return { id: created.id, qrUrl: qrUrl(deps.config.appOrigin, "signin", created.token), expiresAt: created.expiresAt, browserSecret: created.browserSecret! };
}

/** Flow B, on the signed-in device: a QR another device scans to continue there (rate-limited per user and IP by its procedure). */
export async function offer(deps: HandoffDeps, actor: Actor, userAgent: string) {
  const created = await deps.handoffs.create("offer", { ip: actor.ip, userAgent, userId: actor.userId, sessionId: actor.sessionId });
  return { id: created.id, qrUrl: qrUrl(deps.config.appOrigin, "offer", created.token), expiresAt: created.expiresAt };
}

/** Flow A, on the phone: who is asking. The first signed-in scanner becomes the one who decides. */
export async function inspect(deps: HandoffDeps, actor: Actor, token: string, userAgent: string) {
  const record = await recordOf(deps.handoffs.bindOwner(token, "signin", { userId: actor.userId, sessionId: actor.sessionId, ip: actor.ip, userAgent }));
  // Approving signs this device out (evict-oldest at the cap): said before approving.
  const [described, cap] = await Promise.all([describe(record, actor.ip, "owner"), sessionCapStatus(deps, actor.userId)]);
  return { ...described, wouldSignOut: cap.wouldSignOut };
}

/** Flow B, on the other device: claims the offer for this browser (rate-limited per IP by its procedure). */
export async function claim(deps: HandoffDeps, token: string, client: ClientInfo, existingSecret?: string) {
  const browserSecret = existingSecret ?? randomToken(32);
  const record = await recordOf(deps.handoffs.bindRecipient(token, { ip: client.ip, userAgent: client.userAgent }, browserSecret));
  return { ...(await describe(record, client.ip, "recipient")), browserSecret };
}

/** Approving hands a session to another device: its procedure needs fresh authentication. Denying never does. */
export async function decide(deps: HandoffDeps, actor: Actor, token: string, decision: "approved" | "denied") {
  const record = await recordOf(deps.handoffs.decide(token, actor, decision));
  await report(deps, {
    userId: actor.userId,
    audit: {
      type: decision === "approved" ? "handoff_approved" : "handoff_denied",
      sessionId: actor.sessionId,
      ip: actor.ip,
      detail: { handoff: record.id, kind: record.kind, recipientIp: record.recipient?.ip ?? null },
    },
  });
  if (decision === "denied" && record.recipient) {
    const user = await deps.db.user.findUnique({ where: { id: actor.userId }, select: { email: true } });
    await recordLoginEvent(deps.db, {
      userId: actor.userId,
      email: user?.email ?? "",
      client: { ip: record.recipient.ip, userAgent: record.recipient.userAgent, deviceCookie: "" },
      method: "qr",
      outcome: "blocked",
      reason: "handoff_denied",
    });
  }
  return describe(record, actor.ip, "owner");
}

/** The recipient collects its session: only with the browser secret, once, after approval. */
export async function complete(deps: HandoffDeps, id: string, browserSecret: string | undefined, client: ClientInfo): Promise<SignedIn> {
  if (!browserSecret) throw invalid();
  const result = await deps.handoffs.complete(id, browserSecret);
  if (!result.ok) {
    if (result.why === "wrong_state" && (result.record.status === "pending" || result.record.status === "scanned"))
      throw new AuthError("BAD_REQUEST", "Not approved yet: approve on your other device first.", { reason: "not_approved_yet" });
    throw invalid();
  }
  const { record } = result;
  const user = await deps.db.user.findUnique({ where: { id: record.ownerUserId! }, select: { id: true, email: true, emailVerifiedAt: true } });
  if (!user) throw invalid();
  // Created only while the session that approved still exists (a lockout may have ended it).
  const signedIn = await startSession(deps, { id: user.id, email: user.email, emailVerified: user.emailVerifiedAt !== null }, client, "qr", {
    parentSessionId: record.ownerSessionId ?? undefined,
  });
  await report(deps, {
    userId: user.id,
    audit: {
      type: "handoff_completed",
      sessionId: signedIn.session.id,
      deviceId: signedIn.session.deviceId,
      ip: client.ip,
      detail: { handoff: record.id, kind: record.kind, approvedBy: record.ownerSessionId },
    },
  });
  return signedIn;
}

/** The state a waiting page sees; `expired` once the request is gone from Redis. */
export async function watchState(deps: HandoffDeps, id: string, viewer: { browserSecret?: string | null; userId?: string | null; ip: string }) {
  const outcome = await deps.handoffs.watch(id, viewer);
  if (!outcome.ok) {
    if (outcome.why === "gone") return { status: "expired" as const };
    throw new AuthError("NOT_FOUND", "No such request.", { reason: "request_not_found" });
  }
  const record = outcome.record;
  return describe(record, viewer.ip, viewer.userId && viewer.userId === record.ownerUserId ? "owner" : "recipient");
}
