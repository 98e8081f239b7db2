import type { Ratelimit } from "@upstash/ratelimit";
import { login } from "~/server/auth/sign-in";
import { type ApprovalPendingError, completeApproval } from "~/server/approvals/new-device";
import { AuthError, isErrorNamed } from "~/server/platform/errors";
import type { AccessTokenClaims, AccessTokenSigner } from "~/server/tokens/jwt";
import { report } from "~/server/security/report";
import type { Session } from "~/server/sessions/store";
import type { AccountThrottle } from "~/server/security/throttle";
import { startSession } from "~/server/auth/start-session";
import { randomToken } from "~/server/platform/crypto";
import type { ApprovalRequired, ClientInfo, SignedIn } from "~/server/auth/types";
import { verifySecondFactor, type SecondFactorRequired, type TwoFactorDeps } from "~/server/two-factor/two-factor";

// Bearer tokens for native and CLI clients. Every token pair belongs to a device session of method
// "token" in the same Redis store as cookie sessions, so the user sees it in sessions.list and every
// way of ending sessions (sign-out, revoke, revoke-others, lockout, forgetting the device, the cap)
// ends it too. The refresh token is that session's "<id>.<secret>" token (only its hash is stored);
// the access token is a short JWT naming the session (sid), checked against Redis on every use.

export interface TokenDeps extends TwoFactorDeps {
  jwt: AccessTokenSigner;
  throttle: AccountThrottle;
  rateLimits: { approvalPerUser: Ratelimit };
}

export interface TokenPair {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  sessionId: string;
}

export interface TokenClient {
  ip: string;
  userAgent: string;
  /** The client's own long-lived device key (like a browser's device cookie); minted when absent. */
  deviceKey?: string;
}

const invalidRefresh = () => new AuthError("UNAUTHORIZED", "This refresh token is not valid. Sign in again.", { reason: "refresh_invalid" });

async function pairFor(deps: TokenDeps, session: Session, refreshToken: string): Promise<TokenPair> {
  const { token, claims } = await deps.jwt.sign({ userId: session.userId, sessionId: session.id });
  return {
    accessToken: token,
    accessTokenExpiresAt: new Date(claims.exp * 1000),
    refreshToken,
    // The refresh token lives as long as its session: until REFRESH_TOKEN_DAYS without use.
    refreshTokenExpiresAt: session.idleExpiresAt,
    sessionId: session.id,
  };
}

const clientInfo = (client: TokenClient, deviceKey: string): ClientInfo => ({ ip: client.ip, userAgent: client.userAgent, deviceCookie: deviceKey });

/**
 * Signs in with email and password for a token client: the same rules as a browser sign-in
 * (per-IP rate limit, new-device approval, session cap). Returns a token pair, or the approval request.
 */
export async function issueTokens(deps: TokenDeps, input: { email: string; password: string; deviceName: string }, client: TokenClient) {
  const deviceKey = client.deviceKey ?? randomToken(32);
  const result = await login(deps, { email: input.email, password: input.password }, clientInfo(client, deviceKey), {
    method: "token",
    deviceName: input.deviceName,
  });
  return tokenAnswer(deps, result, deviceKey);
}

/** What tokens.issue and tokens.verifySecondFactor answer for each outcome of a sign-in. */
async function tokenAnswer(deps: TokenDeps, result: SignedIn | ApprovalRequired | SecondFactorRequired, deviceKey: string) {
  if ("status" in result && result.status === "second_factor_required") {
    // Bound to this client's deviceKey (it must send the same one with the code).
    const { browserSecret: _boundToDeviceKey, ...challenge } = result;
    return { ...challenge, deviceKey };
  }
  if ("status" in result) {
    const { browserSecret, ...approval } = result;
    return { ...approval, approvalSecret: browserSecret, deviceKey };
  }
  return {
    status: "issued" as const,
    ...(await pairFor(deps, result.session, result.token)),
    deviceKey,
    user: result.user,
    ...(result.warning ? { warning: result.warning } : {}),
    signedOut: result.signedOut,
  };
}

/**
 * The second factor for a token sign-in: the same challenge rules as a browser's, bound to the
 * deviceKey tokens.issue answered with. Answers as tokens.issue would have after the password.
 */
export async function verifyTokenSecondFactor(deps: TokenDeps, input: { challengeId: string; code: string; deviceKey: string }, client: TokenClient) {
  const result = await verifySecondFactor(deps, input, input.deviceKey, clientInfo(client, input.deviceKey));
  return tokenAnswer(deps, result, input.deviceKey);
}

/** After the approval request was confirmed on a signed-in device, the client collects its tokens. */
export async function completeTokenApproval(deps: TokenDeps, input: { requestId: string; approvalSecret: string; deviceName: string }, client: TokenClient) {
  const deviceKey = client.deviceKey ?? randomToken(32);
  let signedIn: SignedIn;
  try {
    signedIn = await completeApproval(deps, input.requestId, input.approvalSecret, clientInfo(client, deviceKey), {
      method: "token",
      deviceName: input.deviceName,
    });
  } catch (error) {
    if (isErrorNamed<ApprovalPendingError>(error, "ApprovalPendingError")) return { status: "approval_pending" as const, requestId: input.requestId };
    throw error;
  }
  return {
    status: "issued" as const,
    ...(await pairFor(deps, signedIn.session, signedIn.token)),
    deviceKey,
    user: signedIn.user,
    signedOut: signedIn.signedOut,
  };
}

/**
 * A signed-in browser mints tokens for a companion app: a new device and session of its own.
 * A session that can mint week-long sessions is worth stealing: it needs the password entered
 * recently (data.reason "reauth_required") and a few per user an hour (both declared on its
 * procedure, tokens.issueFromSession), and the new session exists
 * only while the minting session still does (checked atomically as it is created).
 */
export async function issueTokensFromSession(deps: TokenDeps, session: Session, input: { deviceName: string }, client: TokenClient) {
  const deviceKey = client.deviceKey ?? randomToken(32);
  const signedIn = await startSession(
    deps,
    { id: session.userId, email: session.email, emailVerified: session.emailVerified === true },
    clientInfo(client, deviceKey),
    "token",
    {
      deviceName: input.deviceName,
      parentSessionId: session.id,
      // No password was entered for it: otherwise each minted session would renew the fresh
      // authentication that minting needs, and a stolen cookie could keep minting forever.
      freshAuthentication: false,
      neverEvict: true,
    },
  );
  await report(deps, {
    userId: session.userId,
    audit: { type: "tokens_issued_from_session", sessionId: session.id, ip: client.ip, detail: { tokenSession: signedIn.session.id } },
  });
  return { ...(await pairFor(deps, signedIn.session, signedIn.token)), deviceKey, signedOut: signedIn.signedOut };
}

/**
 * Rotates the refresh token: the old one stops working at once. A rotated token presented again
 * means it was copied: the session and every token from it end, and the user is told.
 */
export async function refreshTokens(deps: TokenDeps, refreshToken: string, client: { ip: string }): Promise<TokenPair> {
  const result = await deps.sessions.rotateRefreshToken(refreshToken);
  if (result.outcome === "ok") return pairFor(deps, result.session, result.token);
  if (result.outcome === "reused") {
    await report(deps, {
      userId: result.userId,
      audit: { type: "refresh_token_reused", sessionId: result.sessionId, ip: client.ip },
      live: { type: "revoked", sessionIds: [result.sessionId], reason: "token_reuse" },
    });
  }
  throw invalidRefresh();
}

/** tokens.revoke: ends the calling token's session, or with scope "token" only this access token. */
export async function revokeTokens(deps: TokenDeps, session: Session, claims: AccessTokenClaims, scope: "session" | "token", ip: string) {
  if (scope === "token") {
    await deps.sessions.denyAccessToken(session.id, claims.jti, claims.exp * 1000);
    await report(deps, { userId: session.userId, audit: { type: "access_token_revoked", sessionId: session.id, ip, detail: { jti: claims.jti } } });
    return { ok: true as const, scope };
  }
  // Told before it ends, so a page watching as this session says "signed out" rather than "expired".
  await report(deps, { userId: session.userId, live: { type: "revoked", sessionIds: [session.id], reason: "signed_out" } });
  await deps.sessions.deleteSession(session.id, session.userId);
  await report(deps, { userId: session.userId, audit: { type: "token_session_ended", sessionId: session.id, ip } });
  return { ok: true as const, scope };
}

/**
 * `Authorization: Bearer <jwt>`: the signature, issuer, audience and expiry, then the session in
 * Redis (one round trip). Null for anything that does not check out.
 */
export async function authenticateBearer(
  deps: Pick<TokenDeps, "jwt" | "sessions">,
  token: string,
): Promise<{ session: Session; claims: AccessTokenClaims } | null> {
  const claims = await deps.jwt.verify(token);
  if (!claims) return null;
  const session = await deps.sessions.validateTokenSession(claims.sid, claims.jti);
  if (!session || session.userId !== claims.sub) return null;
  return { session, claims };
}

/** auth.logout with a bearer token: ends that token's session (a no-op when it is already gone). */
export async function endBearerSession(deps: TokenDeps, token: string, ip: string): Promise<void> {
  const found = token ? await authenticateBearer(deps, token) : null;
  if (found) await revokeTokens(deps, found.session, found.claims, "session", ip);
}
