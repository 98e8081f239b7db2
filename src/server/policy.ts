import type { Env } from "~/env";

// Every number the app's rules run on has its one home here. src/env.ts reads and validates the
// variables (and holds their defaults); policyFrom turns them, once, into named values in the units
// the code uses (ms, counts). Numbers fixed by design (not configurable) are the constants below.
// Nothing else in src/server has a default of its own for any of these.

// --- Fixed by design ---

/** Wrong 6-digit codes after which a new-device approval request is blocked. */
export const APPROVAL_CODE_ATTEMPTS = 5;

/** Rotated refresh tokens remembered per token session, for reuse (theft) detection. */
export const REFRESH_REUSE_HISTORY = 100;

/**
 * A script that touches keys named inside another key (a user's sessions in the session index, a
 * user's current account links) is sent with the names read just before; when they changed in
 * between, it changes nothing and answers with the current ones, and is sent again, at most this
 * many times in all (then SERVICE_UNAVAILABLE). Only concurrent writes to one user's index cause
 * a second attempt. Needed because Redis Cluster runs a script only with every key in KEYS.
 */
export const SESSION_INDEX_READ_ATTEMPTS = 5;

/**
 * Redis Cluster (REDIS_CLUSTER_NODES): the longest a first connection, and then any one command,
 * may take before the request is answered SERVICE_UNAVAILABLE (a hung node must never hang a
 * request); and how often, at most, the slot map is read again after a node failed (a replica
 * promoted in a failover is found this way: its dead master sends no MOVED).
 */
export const REDIS_CLUSTER_CONNECT_TIMEOUT_MS = 5_000;
export const REDIS_CLUSTER_COMMAND_TIMEOUT_MS = 3_000;
export const REDIS_CLUSTER_REDISCOVER_EVERY_MS = 250;

/**
 * On SIGTERM (each at most SHUTDOWN_TIMEOUT_MS): how long the listener stays open, so connections
 * the kernel completed before the signal are accepted rather than reset; then how long accepted
 * connections may still deliver a request before idle ones are closed (a client that connected a
 * moment before the signal has sent its request, which the server may not have read yet).
 */
export const SHUTDOWN_BACKLOG_MS = 20;
export const SHUTDOWN_ACCEPTED_GRACE_MS = 250;

/** Events kept per user in the live feed, and how long a quiet feed is kept. */
export const LIVE_FEED_LENGTH = 100;
export const LIVE_FEED_TTL_MS = 24 * 60 * 60 * 1000;
/** Longest wait, when a page's session ended, for the event that says why (capped by the live poll interval). */
export const LIVE_LATE_EVENT_WAIT_MS = 300;
/**
 * Live updates by Redis pub/sub (src/server/live/hub.ts): while an instance's subscription is up,
 * an open page reads Redis only when told something changed, and otherwise once per
 * LIVE_QUIET_RECHECK_MS (a safety net; a session or record that expires sooner is read again when
 * it does). While the subscription is down pages poll every LIVE_POLL_MS / HANDOFF_POLL_MS as
 * before. The subscription pings every LIVE_PUSH_PING_MS (a silently dead connection is found
 * within about that) and a lost one is replaced after LIVE_PUSH_RETRY_MS.
 */
export const LIVE_QUIET_RECHECK_MS = 2 * 60_000;
export const LIVE_PUSH_PING_MS = 5_000;
export const LIVE_PUSH_RETRY_MS = 500;
/**
 * Every open live stream carries a ping this often (an SSE comment; no Redis): a client that went
 * away without closing its connection (a laptop put to sleep, a phone changing networks) is found
 * when a write to it fails, which frees its stream slot (live/open-streams.ts), and proxies do not
 * close a quiet stream as idle. The page reconnects (resuming at its feed position) after
 * LIVE_STREAM_RECONNECT_MS without a byte.
 */
export const LIVE_STREAM_PING_MS = 25_000;
export const LIVE_STREAM_RECONNECT_MS = 2 * LIVE_STREAM_PING_MS + 10_000;

/** How long concurrent sign-ins of one browser share the cookie it is trusted under. */
export const TRUST_NONCE_MS = 60_000;
/** How long an unused cached device list stays; every read extends it. */
export const DEVICE_CACHE_TTL_MS = 3_600_000;

/** Account throttle: the first wait once throttling starts (it doubles up to the configured maximum). */
export const THROTTLE_BASE_DELAY_MS = 1000;
/** Account throttle: counters are forgotten this long after the last attempt. */
export const THROTTLE_FORGET_AFTER_MS = 86_400_000;
/** Account throttle: an attempt in flight longer than this was lost (its process died). */
export const THROTTLE_IN_FLIGHT_MAX_MS = 60_000;

/** Password checks admitted at once per account and per IP, and how many more may wait before further ones are refused. */
export const PASSWORD_CHECKS_PER_ACCOUNT = 2;
export const PASSWORD_CHECKS_PER_IP = 4;
export const PASSWORD_CHECKS_WAITING_PER_KEY = 64;
/**
 * Password hashing, argon2id by the OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1 (the
 * benchmark's hashing ceiling uses the same). `algorithm` 2 is Argon2id (a const enum in
 * @node-rs/argon2's types, which isolatedModules cannot read).
 */
export const PASSWORD_HASH_OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
/** The password-hashing threads' nice value when PASSWORD_HASH_NICE is not set. */
export const PASSWORD_HASH_NICE_DEFAULT = 10;

/**
 * account.requestPasswordReset answers no sooner than this, for known and unknown addresses alike:
 * the work it does for a known one (a link, an email queued) cannot be told apart by timing.
 */
export const PASSWORD_RESET_MIN_ANSWER_MS = 250;
/** An expired account link is kept this long past its expiry, so opening it says "expired" rather than "invalid". */
export const ACCOUNT_LINK_EXPIRED_KEPT_MS = 86_400_000;
/** Security activity page size: the default and the most one call may ask for. */
export const SECURITY_ACTIVITY_PAGE = 20;
export const SECURITY_ACTIVITY_PAGE_MAX = 100;

/** Largest request body /api/trpc reads; our biggest legitimate input is a few KB. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Most calls one batched request may carry (the client's batch link sends at most this many). */
export const MAX_BATCH_SIZE = 10;

/** History retention: rows deleted per statement (short transactions, row locks only), and how often the app runs it. */
export const RETENTION_BATCH_SIZE = 1000;
export const RETENTION_EVERY_MS = 3_600_000;
/** The first run after the server starts (a little later than startup's own work). */
export const RETENTION_FIRST_RUN_MS = 60_000;
/** The Redis lock that lets one instance prune at a time; it expires by itself should that instance die. */
export const RETENTION_LOCK_MS = 10 * 60_000;

/** How long a passkey (WebAuthn) challenge may be answered; it is also used at most once. */
export const PASSKEY_CHALLENGE_TTL_MS = 5 * 60_000;
/** Two-factor sign-in: how long the second step may wait after the password, and the codes it allows. */
export const SECOND_FACTOR_CHALLENGE_TTL_MS = 5 * 60_000;
export const SECOND_FACTOR_ATTEMPTS = 5;
/** A TOTP secret shown by twoFactor.setup waits this long for its first code (twoFactor.enable). */
export const TWO_FACTOR_SETUP_TTL_MS = 10 * 60_000;
/** Recovery codes issued at once (each used once). */
export const RECOVERY_CODE_COUNT = 10;
/** TOTP: time steps accepted on either side of the server's (clock drift), and how long a used step is remembered (replay). */
export const TOTP_WINDOW_STEPS = 1;
export const TOTP_USED_STEP_KEPT_MS = 5 * 60_000;
/**
 * A TOTP code that just re-authenticated a session may be given once more, by that session, for the
 * action it was asked for (twoFactor.disable) within this time: the person typed one current code.
 */
export const REAUTH_CODE_REUSE_MS = 2 * 60_000;

// --- From the environment ---

export interface RateLimit {
  /** Requests allowed per window. */
  count: number;
  windowSeconds: number;
}

type SessionCapPolicy = "reject" | "evict-oldest";

/** How many sessions one user may have at once (0 = no limit), and what a sign-in over it does. */
export interface SessionCap {
  limit: number;
  policy: SessionCapPolicy;
}

export interface Policy {
  session: {
    idleTimeoutMs: number;
    absoluteLifetimeMs: number;
    /** Bearer-token sessions end after this long without a use or a refresh: the refresh token's lifetime. */
    tokenIdleTimeoutMs: number;
    cap: SessionCap;
  };
  accessTokenTtlMs: number;
  handoffTtlMs: number;
  approvalTtlMs: number;
  newDeviceApproval: boolean;
  /** How long after entering the password a session may do sensitive actions. */
  reauthMs: number;
  /** Account links sent by email: password reset (PASSWORD_RESET_TTL_MINUTES), address verification and change (EMAIL_VERIFICATION_TTL_HOURS). */
  links: { passwordResetTtlMs: number; emailVerificationTtlMs: number };
  /** optional: unverified accounts work fully (a banner asks); required: they reach only "check your inbox" until verified. */
  emailVerification: "optional" | "required";
  rateLimits: {
    signInPerIp: RateLimit;
    registerPerIp: RateLimit;
    /** QR codes per IP, and per user for offers and claims. */
    handoff: RateLimit;
    /** New-device approval requests per account. */
    approvalPerUser: RateLimit;
    tokensFromSessionPerUser: RateLimit;
    /** account.requestPasswordReset per IP, and per address (known or not, so it tells nothing). */
    passwordResetPerIp: RateLimit;
    passwordResetPerAddress: RateLimit;
    /** Verification resends and email-change links per user. */
    accountMailPerUser: RateLimit;
    /** Opening account links (account.resetPassword, account.verifyEmail) per IP. */
    accountLinkPerIp: RateLimit;
    /** account.exportData per user. */
    dataExportPerUser: RateLimit;
    /** Passkey requests per IP: auth.passkeyOptions, auth.loginWithPasskey, passkeys.registrationOptions, passkeys.reauthOptions. */
    passkeyPerIp: RateLimit;
  };
  /** Account throttle: waits start after `after` attempts without a success, doubling from THROTTLE_BASE_DELAY_MS up to maxDelayMs. */
  throttle: { after: number; maxDelayMs: number };
  /** How often open pages poll Redis: a QR handoff or approval being watched, and the live session feed. */
  pollMs: { handoff: number; live: number };
  /** Open live-update streams (SSE) one session, and one client address, may hold on an app instance. */
  liveStreams: { perSession: number; perAddress: number };
  /** On SIGTERM, the longest wait for in-flight requests before their connections are closed (src/server/platform/shutdown.ts). */
  shutdownTimeoutMs: number;
  /** Sign-in history (LoginEvent) and security events older than this are deleted; 0 = kept forever. */
  historyRetentionMs: number;
}

const perMinute = (count: number): RateLimit => ({ count, windowSeconds: 60 });

export function policyFrom(e: Env): Policy {
  return {
    session: {
      idleTimeoutMs: e.SESSION_IDLE_MINUTES * 60_000,
      absoluteLifetimeMs: e.SESSION_MAX_DAYS * 86_400_000,
      tokenIdleTimeoutMs: e.REFRESH_TOKEN_DAYS * 86_400_000,
      cap: { limit: e.SESSION_LIMIT, policy: e.SESSION_LIMIT_POLICY },
    },
    accessTokenTtlMs: e.ACCESS_TOKEN_MINUTES * 60_000,
    handoffTtlMs: e.HANDOFF_TTL_SECONDS * 1000,
    approvalTtlMs: e.APPROVAL_TTL_SECONDS * 1000,
    newDeviceApproval: e.NEW_DEVICE_APPROVAL,
    reauthMs: e.REAUTH_MINUTES * 60_000,
    links: { passwordResetTtlMs: e.PASSWORD_RESET_TTL_MINUTES * 60_000, emailVerificationTtlMs: e.EMAIL_VERIFICATION_TTL_HOURS * 3_600_000 },
    emailVerification: e.EMAIL_VERIFICATION,
    rateLimits: {
      signInPerIp: perMinute(e.SIGN_IN_RATE_LIMIT),
      registerPerIp: perMinute(e.REGISTER_RATE_LIMIT),
      handoff: perMinute(e.HANDOFF_RATE_LIMIT),
      approvalPerUser: perMinute(e.APPROVAL_RATE_LIMIT),
      tokensFromSessionPerUser: { count: e.TOKENS_FROM_SESSION_RATE_LIMIT, windowSeconds: 3600 },
      passwordResetPerIp: perMinute(e.PASSWORD_RESET_RATE_LIMIT),
      passwordResetPerAddress: { count: e.PASSWORD_RESET_ADDRESS_RATE_LIMIT, windowSeconds: 3600 },
      accountMailPerUser: { count: e.ACCOUNT_MAIL_RATE_LIMIT, windowSeconds: 3600 },
      accountLinkPerIp: perMinute(e.ACCOUNT_LINK_RATE_LIMIT),
      dataExportPerUser: { count: e.DATA_EXPORT_RATE_LIMIT, windowSeconds: 3600 },
      passkeyPerIp: perMinute(e.PASSKEY_RATE_LIMIT),
    },
    throttle: { after: e.ACCOUNT_THROTTLE_AFTER, maxDelayMs: e.ACCOUNT_THROTTLE_MAX_SECONDS * 1000 },
    pollMs: { handoff: e.HANDOFF_POLL_MS, live: e.LIVE_POLL_MS },
    liveStreams: { perSession: e.LIVE_STREAMS_PER_SESSION, perAddress: e.LIVE_STREAMS_PER_IP },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    historyRetentionMs: e.HISTORY_RETENTION_DAYS * 86_400_000,
  };
}
