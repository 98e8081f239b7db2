import type { Ratelimit } from "@upstash/ratelimit";
import type { Db } from "~/server/db";
import type { Mailer } from "~/server/mail";
import type { LoginMethod, LoginOutcome } from "~/generated/prisma/enums";
import { approvalIfNeeded, type ApprovalDeps, type ApprovalRequired } from "./approvals";
import type { DeviceCache } from "./device-cache";
import { recordDeviceSignIn } from "./device";
import { AuthError, isErrorNamed } from "./errors";
import type { UserEventFeed } from "./events";
import { locate } from "./geo";
import { hashPassword } from "./password";
import { enforceRateLimit } from "./rate-limit";
import { checkPassword, SIGN_IN_WORDING, type AccountThrottle } from "./throttle";
import { sha256 } from "./tokens";
import { notify } from "./notify";
import { recordSecurityEvent } from "./security-events";
import { assessSignIn, signInHistory, type SignInWarning } from "./suspicious";
import {
  type CreateConditions,
  type ParentSessionEndedError,
  type Session,
  type SessionCap,
  type SessionEpochChangedError,
  type SessionLimitError,
  type SessionStore,
} from "./session";

/** What the request tells about who is signing in from where. */
export interface ClientInfo {
  ip: string;
  userAgent: string;
  /** The browser's long-lived device cookie (a new one is minted when it had none). */
  deviceCookie: string;
  /**
   * Replaces the browser's device cookie with one whose id is derived from `trustNonce` under a
   * server key, and returns that id. Called when a browser becomes a trusted device of an
   * account: a device cookie that existed before (even one this server issued) may have been
   * planted by someone who kept a copy. Absent for token clients, whose deviceKey nobody else can plant.
   */
  reissueDeviceCookie?: (trustNonce: string) => string;
}

export interface AuthDeps {
  db: Db;
  sessions: SessionStore;
  deviceCache: DeviceCache;
  events: UserEventFeed;
  config: { sessionCap: SessionCap; reauthMs?: number };
  /** Security email; absent in code paths and tests that send none. */
  mailer?: Mailer;
}

export interface SignedIn {
  user: { id: string; email: string };
  session: Session;
  token: string;
  /** Set when the sign-in looked suspicious (new device in a new country, impossible travel). */
  warning?: SignInWarning;
  /** The device whose session this sign-in ended to stay within the session cap (evict-oldest). */
  signedOut: { deviceName: string } | null;
}

export const INVALID_CREDENTIALS = "Invalid email or password";

export async function recordLoginEvent(
  db: Db,
  event: {
    userId: string | null;
    email: string;
    deviceId?: string | null;
    client: ClientInfo;
    method: LoginMethod;
    outcome: LoginOutcome;
    reason?: string;
    suspicious?: string;
  },
): Promise<void> {
  await db.loginEvent.create({
    data: {
      userId: event.userId,
      email: event.email.slice(0, 254),
      deviceId: event.deviceId ?? null,
      ip: event.client.ip,
      userAgent: event.client.userAgent.slice(0, 512),
      method: event.method,
      outcome: event.outcome,
      reason: event.reason ?? null,
      suspicious: event.suspicious ?? null,
    },
  });
}

async function isKnownDevice(db: Db, userId: string, deviceCookie: string): Promise<boolean> {
  return (await db.device.count({ where: { userId, cookieHash: sha256(deviceCookie), forgottenAt: null } })) > 0;
}

/**
 * Opens a session for a user whose identity is established: records the device and IP, enforces
 * the session cap (atomically, in Redis), flags a suspicious sign-in (suspicious.ts), logs it,
 * tells the user's other pages, and emails the owner about a new device or a suspicious sign-in.
 */
export async function startSession(
  deps: AuthDeps,
  user: { id: string; email: string },
  client: ClientInfo,
  method: LoginMethod,
  options: {
    deviceName?: string;
    /** The password was entered for this session (sensitive actions need no re-authentication at first). Default: password and token sign-ins. */
    freshAuthentication?: boolean;
    /** Refuse at the session cap instead of evicting (a session minted from another must not push the owner's devices out). */
    neverEvict?: boolean;
    /** Whether the browser is already one of the user's devices, when the caller looked it up. */
    knownDevice?: boolean;
  } & CreateConditions = {},
): Promise<SignedIn> {
  const history = await signInHistory(deps.db, user.id);
  let deviceCookie = client.deviceCookie;
  if (client.reissueDeviceCookie && !(options.knownDevice ?? (await isKnownDevice(deps.db, user.id, deviceCookie)))) {
    // The browser becomes trusted under a cookie issued now, so a copy of the one it had (which
    // someone may have planted) is worth nothing. A double submit shares the nonce, so one device.
    deviceCookie = client.reissueDeviceCookie(await deps.deviceCache.trustNonce(user.id, sha256(deviceCookie)));
  }
  const device = await recordDeviceSignIn(deps.db, {
    userId: user.id,
    deviceCookie,
    userAgent: client.userAgent,
    ip: client.ip,
    name: options.deviceName,
  });
  const cap: SessionCap = options.neverEvict ? { ...deps.config.sessionCap, policy: "reject" } : deps.config.sessionCap;
  let created;
  try {
    created = await deps.sessions.createSession(
      { userId: user.id, email: user.email, deviceId: device.id, ip: client.ip, method },
      cap,
      { parentSessionId: options.parentSessionId, epoch: options.epoch },
    );
  } catch (error) {
    await deps.deviceCache.invalidate(user.id); // the device row was written all the same
    const refused = refusedBecause(error);
    if (refused) {
      await recordLoginEvent(deps.db, { userId: user.id, email: user.email, deviceId: device.id, client, method, outcome: "blocked", reason: refused.reason });
      throw refused;
    }
    if (!isErrorNamed<SessionLimitError>(error, "SessionLimitError")) throw error;
    await recordLoginEvent(deps.db, { userId: user.id, email: user.email, deviceId: device.id, client, method, outcome: "blocked", reason: "session_limit" });
    await recordSecurityEvent(deps.db, {
      type: "session_limit_rejected",
      userId: user.id,
      deviceId: device.id,
      ip: client.ip,
      detail: { active: error.active, limit: error.limit },
    });
    throw new AuthError("TOO_MANY_REQUESTS", error.message);
  }
  const { token, session, evicted, evictedDevices } = created;
  const place = await locate(client.ip);
  const warning = (await assessSignIn(history, { place, newDevice: device.isNew, at: session.createdAt })) ?? undefined;
  try {
    await recordLoginEvent(deps.db, { userId: user.id, email: user.email, deviceId: device.id, client, method, outcome: "success", suspicious: warning?.reason });
  } finally {
    // After both database writes (device row, then this sign-in's address in the history).
    await deps.deviceCache.invalidate(user.id);
  }
  if (options.freshAuthentication ?? (method === "password" || method === "token")) await deps.sessions.markAuthenticated(session.id, deps.config.reauthMs);
  for (const sessionId of evicted) {
    await recordSecurityEvent(deps.db, { type: "session_evicted", userId: user.id, sessionId, ip: client.ip, detail: { by: session.id, limit: deps.config.sessionCap.limit } });
  }
  if (evicted.length) await deps.events.publish(user.id, { type: "revoked", sessionIds: evicted, reason: "evicted" });
  await deps.events.publish(user.id, {
    type: "signed_in",
    sessionId: session.id,
    deviceId: device.id,
    deviceName: device.name,
    method,
    ip: client.ip,
    location: place.label,
    ...(warning ? { warning: warning.message } : {}),
  });
  const where = { deviceName: device.name, ip: client.ip, place, at: session.createdAt };
  if (warning) {
    await recordSecurityEvent(deps.db, { type: "suspicious_sign_in", userId: user.id, sessionId: session.id, deviceId: device.id, ip: client.ip, detail: { reason: warning.reason } });
    notify.suspiciousSignIn(deps.mailer, user.email, where, warning.message);
  } else if (device.isNew && history.addresses.length > 0) {
    notify.newDeviceSignIn(deps.mailer, user.email, where);
  }
  return { user, session, token, ...(warning ? { warning } : {}), signedOut: evictedDevices.length ? { deviceName: await deviceNameOf(deps.db, evictedDevices[0]!) } : null };
}

export async function deviceNameOf(db: Db, deviceId: string): Promise<string> {
  const device = deviceId ? await db.device.findUnique({ where: { id: deviceId }, select: { name: true } }).catch(() => null) : null;
  return device?.name ?? "Unknown device";
}

/** A session that may no longer be created (see CreateConditions), as the caller's answer. */
function refusedBecause(error: unknown): AuthError | null {
  if (isErrorNamed<ParentSessionEndedError>(error, "ParentSessionEndedError")) {
    return new AuthError("UNAUTHORIZED", "The session that allowed this sign-in has ended. Sign in again.", undefined, "parent_session_ended");
  }
  if (isErrorNamed<SessionEpochChangedError>(error, "SessionEpochChangedError")) {
    return new AuthError("UNAUTHORIZED", "Every session of this account was just ended. Sign in again.", undefined, "sessions_ended");
  }
  return null;
}

export async function register(deps: AuthDeps & { rateLimits?: { registerPerIp: Ratelimit } }, input: { email: string; password: string }, client: ClientInfo): Promise<SignedIn> {
  if (deps.rateLimits) await enforceRateLimit(deps.rateLimits.registerPerIp, client.ip, "Too many accounts created from your network.");
  const passwordHash = await hashPassword(input.password);
  let user: { id: string; email: string };
  try {
    user = await deps.db.user.create({ data: { email: input.email, passwordHash }, select: { id: true, email: true } });
  } catch (error) {
    // By code, not class: the client may have been built by another server bundle.
    if ((error as { code?: unknown } | null)?.code === "P2002") {
      throw new AuthError("CONFLICT", "An account with this email already exists. Sign in instead.");
    }
    throw error;
  }
  return startSession(deps, user, client, "password");
}

/**
 * The owner is told once, when waiting starts: a security event, their open pages, an email.
 */
async function tellThrottlingStarts(deps: ApprovalDeps, user: { id: string; email: string }, client: ClientInfo, attempts: number) {
  await recordSecurityEvent(deps.db, { type: "account_throttled", userId: user.id, ip: client.ip, detail: { attempts } });
  const place = await locate(client.ip);
  await deps.events.publish(user.id, { type: "sign_in_throttled", attempts, ip: client.ip, location: place.label });
  notify.throttled(deps.mailer, user.email, { ip: client.ip, place }, attempts);
}

/**
 * Password sign-in. With new-device approval on, a correct password from an unknown browser while
 * the user is signed in elsewhere returns an approval request instead of a session.
 */
export async function login(
  deps: ApprovalDeps & { rateLimits?: { signInPerIp: Ratelimit }; throttle?: AccountThrottle },
  input: { email: string; password: string },
  client: ClientInfo,
  // Bearer-token clients sign in the same way and get a session of method "token".
  as: { method: "password" | "token"; deviceName?: string } = { method: "password" },
): Promise<SignedIn | ApprovalRequired> {
  if (deps.rateLimits) await enforceRateLimit(deps.rateLimits.signInPerIp, client.ip, "Too many sign-in attempts from your network.");
  // The account and, in the same query, whether this browser (or app) is one of its devices.
  const found = await deps.db.user.findUnique({
    where: { email: input.email },
    select: { id: true, email: true, passwordHash: true, devices: { where: { cookieHash: sha256(client.deviceCookie), forgottenAt: null }, select: { id: true } } },
  });
  const user = found && { id: found.id, email: found.email, passwordHash: found.passwordHash, knownDevice: found.devices.length > 0 };
  // Throttled per account (see throttle.ts) before the password is checked. A browser or app this
  // user already signed in with is exempt: throttling slows guessers down without locking the
  // owner out of their own devices. Unknown emails are checked against a dummy hash: same error,
  // same time, same throttle.
  const valid = await checkPassword(deps.throttle, {
    email: input.email,
    ip: client.ip,
    storedHash: user?.passwordHash,
    password: input.password,
    exempt: user?.knownDevice,
    wording: SIGN_IN_WORDING,
    onThrottled: () => recordLoginEvent(deps.db, { userId: user?.id ?? null, email: input.email, client, method: as.method, outcome: "blocked", reason: "account_throttled" }),
    onThrottlingStarts: async (attempts) => {
      if (user) await tellThrottlingStarts(deps, user, client, attempts);
    },
  });
  if (!user || !valid) {
    await recordLoginEvent(deps.db, {
      userId: user?.id ?? null,
      email: input.email,
      client,
      method: as.method,
      outcome: "failure",
      reason: user ? "wrong_password" : "unknown_email",
    });
    throw new AuthError("UNAUTHORIZED", INVALID_CREDENTIALS);
  }
  const epoch = await epochBehindPassword(deps, user);
  const approval = await approvalIfNeeded(deps, { id: user.id, email: user.email, knownDevice: user.knownDevice }, client, as.method, as.deviceName);
  if (approval) return approval;
  return startSession(deps, { id: user.id, email: user.email }, client, as.method, { deviceName: as.deviceName, epoch, knownDevice: user.knownDevice });
}

/**
 * The session epoch for a sign-in whose password was just checked against `user.passwordHash`.
 * Read first, then the hash again: a lockout (or password change) that ends every session after
 * this read bumps the epoch and the session is refused; one that changed the password before it
 * shows as a different hash here. Either way a password checked before cannot sign in after.
 */
async function epochBehindPassword(deps: AuthDeps, user: { id: string; passwordHash: string }): Promise<number> {
  const epoch = await deps.sessions.currentEpoch(user.id);
  const now = await deps.db.user.findUnique({ where: { id: user.id }, select: { passwordHash: true } });
  if (now?.passwordHash !== user.passwordHash) throw new AuthError("UNAUTHORIZED", INVALID_CREDENTIALS);
  return epoch;
}
