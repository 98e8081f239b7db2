import "server-only";
import { env, type Env } from "~/env";
import { Ratelimit } from "@upstash/ratelimit";
import { DeviceCache } from "~/server/devices/device-cache";
import { UserEventFeed } from "~/server/live/events";
import { liveHubOf, type LiveHub } from "~/server/live/hub";
import { OpenStreams } from "~/server/live/open-streams";
import { ApprovalStore } from "~/server/approvals/store";
import { HandoffStore } from "~/server/handoff/store";
import { AccessTokenSigner } from "~/server/tokens/jwt";
import { AccountLinkStore } from "~/server/account/link-store";
import { AccountThrottle } from "~/server/security/throttle";
import { TwoFactorStore } from "~/server/two-factor/store";
import { SessionStore, type SessionCap } from "~/server/sessions/store";
import { PasskeyChallengeStore } from "~/server/passkeys/challenges";
import { getDb, type Db } from "~/server/platform/db";
import { Mailer } from "~/server/platform/mail";
import { getRedis, type RedisHandle } from "~/server/platform/redis";
import { DEVICE_CACHE_TTL_MS, PASSKEY_CHALLENGE_TTL_MS, policyFrom, type Policy, type RateLimit } from "~/server/policy";

/** Everything a request needs, built once per process. Tests build their own with createServices. */
export interface Services {
  db: Db;
  redis: RedisHandle;
  /** Every policy number, read from env once (src/server/policy.ts); the stores and `config` below take theirs from here. */
  policy: Policy;
  sessions: SessionStore;
  deviceCache: DeviceCache;
  events: UserEventFeed;
  /** This process's one reader of live notifications, shared by every open page (live/hub.ts). */
  live: LiveHub;
  /** Open live-update streams per session and address on this instance, under their limits (live/open-streams.ts). */
  openStreams: OpenStreams;
  handoffs: HandoffStore;
  approvals: ApprovalStore;
  jwt: AccessTokenSigner;
  throttle: AccountThrottle;
  mailer: Mailer;
  /** Password-reset, verification and change-of-address links (src/server/account/link-store.ts). */
  links: AccountLinkStore;
  /** One-time WebAuthn challenges (src/server/passkeys/challenges.ts). */
  passkeyChallenges: PasskeyChallengeStore;
  /** Two-factor set-up secrets, sign-in challenges and used TOTP steps (src/server/two-factor/store.ts). */
  twoFactor: TwoFactorStore;
  rateLimits: {
    handoffPerIp: Ratelimit;
    handoffPerUser: Ratelimit;
    signInPerIp: Ratelimit;
    registerPerIp: Ratelimit;
    approvalPerUser: Ratelimit;
    tokensFromSessionPerUser: Ratelimit;
    passwordResetPerIp: Ratelimit;
    passwordResetPerAddress: Ratelimit;
    accountMailPerUser: Ratelimit;
    accountLinkPerIp: Ratelimit;
    dataExportPerUser: Ratelimit;
    passkeyPerIp: Ratelimit;
  };
  /** What routers and use cases read; each value comes from `policy`. */
  config: {
    handoffPollMs: number;
    newDeviceApproval: boolean;
    approvalTtlSeconds: number;
    handoffTtlSeconds: number;
    sessionCap: SessionCap;
    /** How long after entering the password a session may do sensitive actions. */
    reauthMs: number;
    /** How often open pages poll Redis for session events (subscriptions). */
    livePollMs: number;
    appOrigin: string;
    secureCookies: boolean;
    trustProxy: boolean;
    sessionSecret: string;
    sessionMaxAgeSeconds: number;
    /** WebAuthn relying party: its ID is APP_URL's host name, the expected origin APP_URL's origin. */
    webauthn: { rpId: string; rpName: string; origin: string };
  };
}

function slidingWindow(redis: RedisHandle, name: string, limit: RateLimit): Ratelimit {
  return new Ratelimit({
    redis: redis.redis,
    prefix: `${redis.prefix}ratelimit:${name}`,
    limiter: Ratelimit.slidingWindow(limit.count, `${limit.windowSeconds} s`),
    analytics: false,
  });
}

export function createServices(db: Db, redis: RedisHandle, e: Env, now?: () => number): Services {
  const appUrl = new URL(e.APP_URL);
  const policy = policyFrom(e);
  return {
    db,
    redis,
    policy,
    sessions: new SessionStore(
      redis.raw,
      redis.prefix,
      {
        idleTimeoutMs: policy.session.idleTimeoutMs,
        absoluteLifetimeMs: policy.session.absoluteLifetimeMs,
        tokenIdleTimeoutMs: policy.session.tokenIdleTimeoutMs,
      },
      now,
    ),
    deviceCache: new DeviceCache(redis.raw, redis.prefix, DEVICE_CACHE_TTL_MS),
    events: new UserEventFeed(redis.redis, redis.prefix),
    live: liveHubOf(redis, { push: e.LIVE_PUSH }),
    openStreams: new OpenStreams(policy.liveStreams),
    handoffs: new HandoffStore(redis.redis, redis.prefix, policy.handoffTtlMs, now),
    approvals: new ApprovalStore(redis.redis, redis.prefix, policy.approvalTtlMs, now),
    mailer: new Mailer({ enabled: e.MAIL_ENABLED, smtpUrl: e.SMTP_URL, from: e.MAIL_FROM, redis: redis.redis, prefix: redis.prefix }),
    links: new AccountLinkStore(redis.redis, redis.prefix, now),
    passkeyChallenges: new PasskeyChallengeStore(redis.redis, redis.prefix, PASSKEY_CHALLENGE_TTL_MS, now),
    throttle: new AccountThrottle(redis.redis, redis.prefix, policy.throttle, now),
    twoFactor: new TwoFactorStore(redis.redis, redis.prefix, now),
    jwt: new AccessTokenSigner({
      signingKey: e.JWT_SIGNING_KEY,
      previousKeys: e.JWT_PREVIOUS_KEYS,
      sessionSecret: e.SESSION_SECRET,
      issuer: appUrl.origin,
      audience: `${appUrl.origin}/api`,
      accessTokenTtlMs: policy.accessTokenTtlMs,
      now,
    }),
    // Sliding windows in the same Redis, so every app instance shares the counts.
    rateLimits: {
      approvalPerUser: slidingWindow(redis, "approval:user", policy.rateLimits.approvalPerUser),
      tokensFromSessionPerUser: slidingWindow(redis, "tokens-from-session:user", policy.rateLimits.tokensFromSessionPerUser),
      registerPerIp: slidingWindow(redis, "register:ip", policy.rateLimits.registerPerIp),
      signInPerIp: slidingWindow(redis, "signin:ip", policy.rateLimits.signInPerIp),
      handoffPerIp: slidingWindow(redis, "handoff:ip", policy.rateLimits.handoff),
      handoffPerUser: slidingWindow(redis, "handoff:user", policy.rateLimits.handoff),
      passwordResetPerIp: slidingWindow(redis, "password-reset:ip", policy.rateLimits.passwordResetPerIp),
      passwordResetPerAddress: slidingWindow(redis, "password-reset:address", policy.rateLimits.passwordResetPerAddress),
      accountMailPerUser: slidingWindow(redis, "account-mail:user", policy.rateLimits.accountMailPerUser),
      accountLinkPerIp: slidingWindow(redis, "account-link:ip", policy.rateLimits.accountLinkPerIp),
      dataExportPerUser: slidingWindow(redis, "data-export:user", policy.rateLimits.dataExportPerUser),
      passkeyPerIp: slidingWindow(redis, "passkey:ip", policy.rateLimits.passkeyPerIp),
    },
    config: {
      handoffPollMs: policy.pollMs.handoff,
      newDeviceApproval: policy.newDeviceApproval,
      approvalTtlSeconds: policy.approvalTtlMs / 1000,
      handoffTtlSeconds: policy.handoffTtlMs / 1000,
      sessionCap: policy.session.cap,
      reauthMs: policy.reauthMs,
      livePollMs: policy.pollMs.live,
      appOrigin: appUrl.origin,
      secureCookies: appUrl.protocol === "https:",
      trustProxy: e.TRUST_PROXY,
      sessionSecret: e.SESSION_SECRET,
      sessionMaxAgeSeconds: policy.session.absoluteLifetimeMs / 1000,
      webauthn: { rpId: appUrl.hostname, rpName: "Handoff", origin: appUrl.origin },
    },
  };
}

const globalForServices = globalThis as unknown as { handoffServices?: Promise<Services> };

export function getServices(): Promise<Services> {
  globalForServices.handoffServices ??= (async () => createServices(await getDb(), await getRedis(), env()))();
  globalForServices.handoffServices.catch(() => {
    globalForServices.handoffServices = undefined;
  });
  return globalForServices.handoffServices;
}
