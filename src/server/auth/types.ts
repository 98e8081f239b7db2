import type { Ratelimit } from "@upstash/ratelimit";
import type { Db } from "~/server/platform/db";
import type { Mailer } from "~/server/platform/mail";
import type { ApprovalStore } from "~/server/approvals/store";
import type { DeviceCache } from "~/server/devices/device-cache";
import type { HandoffStore } from "~/server/handoff/store";
import type { UserEventFeed } from "~/server/live/events";
import type { Session, SessionCap, SessionStore } from "~/server/sessions/store";
import type { SignInWarning } from "~/server/security/suspicious";

// Types that several auth use cases share (sign-in, approvals, session and device lists, lockout, reauth, handoff, bearer):
// here rather than in one of them, so no use case imports another just for a type.

/** What the request tells about who is signing in from where. */
/** The account a session is opened for, as the session will carry it. */
export interface SessionUser {
  id: string;
  email: string;
  emailVerified: boolean;
}

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
  config: { sessionCap: SessionCap; reauthMs: number };
  /** Security email (MAIL_ENABLED=false makes it send nothing; it is never absent). */
  mailer: Mailer;
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

export interface Actor {
  userId: string;
  sessionId: string;
  deviceId: string;
  ip: string;
}

export interface ApprovalDeps extends AuthDeps {
  approvals: ApprovalStore;
  config: AuthDeps["config"] & { newDeviceApproval: boolean };
  /** Someone with the password could otherwise flood the owner's devices with requests from many IPs. */
  rateLimits: { approvalPerUser: Ratelimit };
}

export interface ApprovalRequired {
  status: "approval_required";
  requestId: string;
  code: string;
  expiresAt: Date;
  /** For the requesting browser's cookie only; never returned to the client. */
  browserSecret: string;
}

/** What the functions over a signed-in user's own sessions and devices need (sessions/, devices/, auth/login-history.ts). */
export interface OwnRecordsDeps {
  db: Db;
  sessions: SessionStore;
  deviceCache: DeviceCache;
  events: UserEventFeed;
  handoffs: HandoffStore;
  approvals: ApprovalStore;
  config: { reauthMs: number };
  mailer: Mailer;
}
