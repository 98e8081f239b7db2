import { z } from "zod";

// The live events of `sessions.onEvent` (and `approvals.onRequest`): one definition for the server
// that publishes and checks them (src/server/live/events.ts) and the pages that show them. Plain
// zod, no server imports, so client components import it too. Adding a value is a compatible
// change; renaming or removing one is not (open pages and the Redis feed still hold the old one).
// Client code imports only types from here (eslint enforces it): building these schemas makes zod
// probe `new Function`, which the app's CSP reports as a violation in the browser.

/** Why sessions ended, in a `revoked` event (a page whose own session it names leaves with it). */
export const revokeReason = z.enum([
  /** One session revoked from another (sessions.revoke). */
  "revoked",
  /** "Sign out all other devices" (sessions.revokeOthers). */
  "revoked_others",
  /** Ended to make room under the session cap's evict-oldest policy. */
  "evicted",
  /** Its device was forgotten (devices.forget). */
  "device_forgotten",
  /** Signed out (auth.logout, tokens.revoke). */
  "signed_out",
  /** Gone without an event (idle or absolute timeout): said by the stream itself. */
  "expired",
  /** A rotated refresh token was presented again: the token session was ended as stolen. */
  "token_reuse",
  /** account.changePassword with signOutOtherSessions. */
  "password_changed",
  /** account.resetPassword: every session of the account ended. */
  "password_reset",
  /** account.delete: the account is gone. */
  "account_deleted",
]);
export type RevokeReason = z.infer<typeof revokeReason>;

/** Every state of a new-device approval request (approvals.watch, approvals.pending). */
export const approvalStatus = z.enum(["pending", "approved", "denied", "failed", "completed", "cancelled", "expired"]);
export type ApprovalStatus = z.infer<typeof approvalStatus>;

/** How a request was resolved, in an `approval_resolved` event (failed: too many wrong codes). */
export const approvalResolution = approvalStatus.extract(["approved", "denied", "failed", "completed", "cancelled"]);

/** Every event `type`. */
export const userEventType = z.enum([
  "signed_in",
  "revoked",
  "locked_out",
  "device_updated",
  "approval_requested",
  "sign_in_throttled",
  "approval_resolved",
  "passkeys_changed",
]);
export type UserEventType = z.infer<typeof userEventType>;

const type = <T extends UserEventType>(value: T) => userEventType.extract([value]);

export const userEvent = z.discriminatedUnion("type", [
  z.object({
    type: type("signed_in"),
    sessionId: z.string(),
    deviceId: z.string(),
    deviceName: z.string(),
    method: z.string(),
    ip: z.string(),
    location: z.string(),
    /** Set when the sign-in looked suspicious: what the other devices show as an alert. */
    warning: z.string().optional(),
    at: z.string(),
  }),
  z.object({ type: type("revoked"), sessionIds: z.array(z.string()), reason: revokeReason, at: z.string() }),
  /** passwordChanged: the lockout also set a new password (pages say so when they leave). */
  z.object({ type: type("locked_out"), sessionIds: z.array(z.string()), passwordChanged: z.boolean().default(false), at: z.string() }),
  z.object({ type: type("device_updated"), deviceId: z.string(), at: z.string() }),
  z.object({
    type: type("approval_requested"),
    requestId: z.string(),
    deviceName: z.string(),
    /** The requesting token client chose deviceName itself (a browser's is its parsed user agent). */
    nameGivenByDevice: z.boolean().default(false),
    ip: z.string(),
    location: z.string(),
    expiresAt: z.string(),
    at: z.string(),
  }),
  /** Failed sign-ins on this account: each further attempt must now wait (account throttling). */
  z.object({ type: type("sign_in_throttled"), attempts: z.number(), ip: z.string(), location: z.string(), at: z.string() }),
  z.object({ type: type("approval_resolved"), requestId: z.string(), status: approvalResolution, at: z.string() }),
  /** A passkey was added, renamed or removed (pages showing the passkey list refresh it). */
  z.object({ type: type("passkeys_changed"), at: z.string() }),
]);

/** One live event: a discriminated union on `type`. */
export type UserEvent = z.infer<typeof userEvent>;

/** An event that ends sessions (`revoked`, `locked_out`). */
export type SessionsEndedEvent = Extract<UserEvent, { sessionIds: string[] }>;
