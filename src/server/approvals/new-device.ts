import type { ApprovalRequest } from "~/server/approvals/store";
import { APPROVAL_CODE_ATTEMPTS } from "~/server/policy";
import { parseUserAgent } from "~/server/devices/device";
import { AuthError } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import { recordLoginEvent } from "~/server/auth/login-events";
import { enforceRateLimit } from "~/server/platform/rate-limit";
import { report } from "~/server/security/report";
import { SessionLimitError } from "~/server/sessions/store";
import { sessionCapStatus } from "~/server/sessions/cap";
import { startSession } from "~/server/auth/start-session";
import { sha256 } from "~/server/platform/crypto";
import type { Actor, ApprovalDeps, ApprovalRequired, ClientInfo, SignedIn } from "~/server/auth/types";

/** The request is still waiting for its code: a token client keeps polling. */
export class ApprovalPendingError extends AuthError {
  constructor() {
    super("BAD_REQUEST", "Not approved yet: enter the code on one of your signed-in devices.", { reason: "approval_pending" });
    this.name = "ApprovalPendingError";
  }
}

const noLongerValid = () =>
  new AuthError("BAD_REQUEST", "This sign-in request is no longer valid. Sign in again on the new device.", { reason: "approval_invalid" });

/**
 * After a correct password: a browser this user has never signed in from (or forgot), while the
 * user is signed in elsewhere, must be approved from one of those sessions. Returns null when no
 * approval is needed. Under a `reject` session cap that is already full, refuses at once.
 */
export async function approvalIfNeeded(
  deps: ApprovalDeps,
  /** knownDevice: this browser (device cookie) or app (deviceKey) is one of the user's devices, not forgotten. */
  user: { id: string; email: string; knownDevice: boolean },
  client: ClientInfo,
  method: "password" | "token" = "password",
  deviceName?: string,
): Promise<ApprovalRequired | null> {
  if (!deps.config.newDeviceApproval || user.knownDevice) return null;
  const active = (await deps.sessions.listUserSessions(user.id)).length;
  if (active === 0) return null;

  const cap = deps.config.sessionCap;
  if (cap.limit > 0 && cap.policy === "reject" && active >= cap.limit) {
    const error = new SessionLimitError(active, cap.limit);
    await recordLoginEvent(deps.db, { userId: user.id, email: user.email, client, method, outcome: "blocked", reason: "session_limit" });
    await report(deps, { userId: user.id, audit: { type: "session_limit_rejected", ip: client.ip, detail: { active, limit: cap.limit } } });
    throw new AuthError("TOO_MANY_REQUESTS", error.message, { reason: "session_limit" });
  }

  await enforceRateLimit(deps.rateLimits.approvalPerUser, user.id, "Too many sign-in requests for this account.");
  const created = await deps.approvals.create({
    userId: user.id,
    ip: client.ip,
    userAgent: client.userAgent,
    deviceCookieHash: sha256(client.deviceCookie),
    deviceName,
  });
  const place = await locate(client.ip);
  await recordLoginEvent(deps.db, { userId: user.id, email: user.email, client, method, outcome: "blocked", reason: "approval_required" });
  await report(deps, {
    userId: user.id,
    audit: { type: "approval_requested", ip: client.ip, detail: { request: created.id } },
    live: {
      type: "approval_requested",
      requestId: created.id,
      deviceName: deviceName ?? parseUserAgent(client.userAgent).name,
      nameGivenByDevice: deviceName !== undefined,
      ip: client.ip,
      location: place.label,
      expiresAt: created.expiresAt.toISOString(),
    },
  });
  return { status: "approval_required", requestId: created.id, code: created.code, expiresAt: created.expiresAt, browserSecret: created.browserSecret };
}

async function describe(request: ApprovalRequest) {
  const ua = parseUserAgent(request.userAgent);
  const place = await locate(request.ip);
  return {
    requestId: request.id,
    status: request.status,
    createdAt: request.createdAt,
    expiresAt: request.expiresAt,
    attemptsLeft: Math.max(0, APPROVAL_CODE_ATTEMPTS - request.attempts),
    device: { name: request.deviceName || ua.name, nameGivenByDevice: request.deviceName !== "", browser: ua.browser, os: ua.os, deviceType: ua.deviceType },
    ip: request.ip,
    location: place.label,
  };
}

/** The user's requests still waiting for a code, for pages opened after they were made. */
export async function pendingApprovals(deps: ApprovalDeps, userId: string) {
  const [requests, cap] = await Promise.all([deps.approvals.listForUser(userId), sessionCapStatus(deps, userId)]);
  // Approving one of them signs this device out (evict-oldest at the cap): said before approving.
  return Promise.all(requests.filter((r) => r.status === "pending").map(async (r) => ({ ...(await describe(r)), wouldSignOut: cap.wouldSignOut })));
}

async function emailOf(deps: ApprovalDeps, userId: string) {
  return (await deps.db.user.findUnique({ where: { id: userId }, select: { email: true } }))?.email ?? "";
}

async function logOutcome(deps: ApprovalDeps, request: ApprovalRequest, reason: string) {
  await recordLoginEvent(deps.db, {
    userId: request.userId,
    email: await emailOf(deps, request.userId),
    client: { ip: request.ip, userAgent: request.userAgent, deviceCookie: "" },
    method: "approval",
    outcome: "blocked",
    reason,
  });
}

/** A signed-in device types the code the new device shows. */
export async function confirmApproval(deps: ApprovalDeps, actor: Actor, requestId: string, code: string) {
  const result = await deps.approvals.confirm(requestId, actor.userId, code, actor.sessionId);
  if (result.ok) {
    await report(deps, {
      userId: actor.userId,
      audit: { type: "approval_confirmed", sessionId: actor.sessionId, ip: actor.ip, detail: { request: requestId } },
      live: { type: "approval_resolved", requestId, status: "approved" },
    });
    return describe(result.record);
  }
  if (result.why !== "wrong_code" && result.why !== "attempts_exhausted") throw noLongerValid();
  const request = result.record;
  const exhausted = result.why === "attempts_exhausted";
  if (exhausted) await logOutcome(deps, request, "approval_code_attempts");
  await report(deps, {
    userId: actor.userId,
    audit: { type: "approval_code_wrong", sessionId: actor.sessionId, ip: actor.ip, detail: { request: requestId, attempts: request.attempts } },
    live: exhausted && { type: "approval_resolved", requestId, status: "failed" },
  });
  if (exhausted) {
    throw new AuthError(
      "BAD_REQUEST",
      `Wrong code. After ${APPROVAL_CODE_ATTEMPTS} wrong codes this request is blocked; the new device has to sign in again.`,
      { reason: "too_many_wrong_codes" },
    );
  }
  const left = APPROVAL_CODE_ATTEMPTS - request.attempts;
  throw new AuthError("BAD_REQUEST", `Wrong code. ${left} ${left === 1 ? "attempt" : "attempts"} left.`, { reason: "wrong_code" });
}

export async function denyApproval(deps: ApprovalDeps, actor: Actor, requestId: string) {
  const result = await deps.approvals.deny(requestId, actor.userId);
  if (!result.ok) throw noLongerValid();
  const request = result.record;
  await logOutcome(deps, request, "approval_denied");
  await report(deps, {
    userId: actor.userId,
    audit: { type: "approval_denied", sessionId: actor.sessionId, ip: actor.ip, detail: { request: requestId } },
    live: { type: "approval_resolved", requestId, status: "denied" },
  });
  return describe(request);
}

/** The new device collects its session: only with its cookie, once, after approval (cap checked again). */
export async function completeApproval(
  deps: ApprovalDeps,
  requestId: string,
  browserSecret: string | undefined,
  client: ClientInfo,
  as: { method: "approval" | "token"; deviceName?: string } = { method: "approval" },
): Promise<SignedIn> {
  if (!browserSecret) throw noLongerValid();
  const result = await deps.approvals.complete(requestId, browserSecret);
  if (!result.ok) {
    if (result.why === "wrong_state" && result.record.status === "pending") throw new ApprovalPendingError();
    throw noLongerValid();
  }
  const user = await deps.db.user.findUnique({ where: { id: result.record.userId }, select: { id: true, email: true, emailVerifiedAt: true } });
  if (!user) throw noLongerValid();
  const signedIn = await startSession(deps, { id: user.id, email: user.email, emailVerified: user.emailVerifiedAt !== null }, client, as.method, {
    deviceName: as.deviceName,
    parentSessionId: result.record.approvedBy || undefined,
  });
  await report(deps, { userId: user.id, live: { type: "approval_resolved", requestId, status: "completed" } });
  return signedIn;
}

/** The state the waiting device (by its cookie) or the user's other pages see. */
export async function approvalState(deps: ApprovalDeps, requestId: string, viewer: { browserSecret?: string | null; userId?: string | null }) {
  const outcome = await deps.approvals.watch(requestId, viewer);
  if (!outcome.ok) {
    if (outcome.why === "gone") return { requestId, status: "expired" as const };
    throw new AuthError("NOT_FOUND", "No such request.", { reason: "request_not_found" });
  }
  return describe(outcome.record);
}

/** Emergency lockout and forgetting a device: their open requests are cancelled. */
export async function cancelApprovals(deps: Pick<ApprovalDeps, "approvals" | "db" | "events" | "mailer">, userId: string, deviceCookieHash?: string) {
  const cancelled = await deps.approvals.cancelForUser(userId, deviceCookieHash);
  await report(deps, { userId, live: cancelled.map((requestId) => ({ type: "approval_resolved" as const, requestId, status: "cancelled" })) });
  return cancelled;
}
