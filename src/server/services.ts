import "server-only";
import { env, type Env } from "~/env";
import { Ratelimit } from "@upstash/ratelimit";
import { DeviceCache } from "~/server/devices/device-cache";
import { UserEventFeed } from "~/server/live/events";
import { ApprovalStore } from "~/server/approvals/store";
import { HandoffStore } from "~/server/handoff/store";
import { AccessTokenSigner } from "~/server/tokens/jwt";
import { AccountThrottle } from "~/server/security/throttle";
import { SessionStore, type SessionCap } from "~/server/sessions/store";
import { getDb, type Db } from "~/server/platform/db";
import { Mailer } from "~/server/platform/mail";
import { getRedis, type RedisHandle } from "~/server/platform/redis";

/** Everything a request needs, built once per process. Tests build their own with createServices. */
export interface Services {
  db: Db;
  redis: RedisHandle;
  sessions: SessionStore;
  deviceCache: DeviceCache;
  events: UserEventFeed;
  handoffs: HandoffStore;
  approvals: ApprovalStore;
  jwt: AccessTokenSigner;
  throttle: AccountThrottle;
  mailer: Mailer;
  rateLimits: {
    handoffPerIp: Ratelimit;
    handoffPerUser: Ratelimit;
    signInPerIp: Ratelimit;
    registerPerIp: Ratelimit;
    approvalPerUser: Ratelimit;
    tokensFromSessionPerUser: Ratelimit;
  };
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
  };
}

export function createServices(db: Db, redis: RedisHandle, e: Env, now?: () => number): Services {
  const appUrl = new URL(e.APP_URL);
  return {
    db,
    redis,
    sessions: new SessionStore(
      redis.raw,
      redis.prefix,
      {
        idleTimeoutMs: e.SESSION_IDLE_MINUTES * 60_000,
        absoluteLifetimeMs: e.SESSION_MAX_DAYS * 86_400_000,
        tokenIdleTimeoutMs: e.REFRESH_TOKEN_DAYS * 86_400_000,
      },
      now,
    ),
    deviceCache: new DeviceCache(redis.raw, redis.prefix),
    events: new UserEventFeed(redis.redis, redis.prefix),
    handoffs: new HandoffStore(redis.redis, redis.prefix, e.HANDOFF_TTL_SECONDS * 1000, now),
    approvals: new ApprovalStore(redis.redis, redis.prefix, e.APPROVAL_TTL_SECONDS * 1000, now),
    mailer: new Mailer({ enabled: e.MAIL_ENABLED, smtpUrl: e.SMTP_URL, from: e.MAIL_FROM, redis: redis.redis, prefix: redis.prefix }),
    throttle: new AccountThrottle(redis.redis, redis.prefix, { after: e.ACCOUNT_THROTTLE_AFTER, maxDelayMs: e.ACCOUNT_THROTTLE_MAX_SECONDS * 1000 }, now),
    jwt: new AccessTokenSigner({
      signingKey: e.JWT_SIGNING_KEY,
      previousKeys: e.JWT_PREVIOUS_KEYS,
      sessionSecret: e.SESSION_SECRET,
      issuer: appUrl.origin,
      audience: `${appUrl.origin}/api`,
      accessTokenTtlMs: e.ACCESS_TOKEN_MINUTES * 60_000,
      now,
    }),
    rateLimits: {
      approvalPerUser: new Ratelimit({
        redis: redis.redis,
        prefix: `${redis.prefix}ratelimit:approval:user`,
        limiter: Ratelimit.slidingWindow(e.HANDOFF_RATE_LIMIT, "60 s"),
        analytics: false,
      }),
      tokensFromSessionPerUser: new Ratelimit({
        redis: redis.redis,
        prefix: `${redis.prefix}ratelimit:tokens-from-session:user`,
        limiter: Ratelimit.slidingWindow(e.TOKENS_FROM_SESSION_RATE_LIMIT, "3600 s"),
        analytics: false,
      }),
      registerPerIp: new Ratelimit({
        redis: redis.redis,
        prefix: `${redis.prefix}ratelimit:register:ip`,
        limiter: Ratelimit.slidingWindow(e.REGISTER_RATE_LIMIT, "60 s"),
        analytics: false,
      }),
      signInPerIp: new Ratelimit({
        redis: redis.redis,
        prefix: `${redis.prefix}ratelimit:signin:ip`,
        limiter: Ratelimit.slidingWindow(e.SIGN_IN_RATE_LIMIT, "60 s"),
        analytics: false,
      }),
      // Sliding windows in the same Redis, so every app instance shares the counts.
      handoffPerIp: new Ratelimit({
        redis: redis.redis,
        prefix: `${redis.prefix}ratelimit:handoff:ip`,
        limiter: Ratelimit.slidingWindow(e.HANDOFF_RATE_LIMIT, "60 s"),
        analytics: false,
      }),
      handoffPerUser: new Ratelimit({
        redis: redis.redis,
        prefix: `${redis.prefix}ratelimit:handoff:user`,
        limiter: Ratelimit.slidingWindow(e.HANDOFF_RATE_LIMIT, "60 s"),
        analytics: false,
      }),
    },
    config: {
      handoffPollMs: e.HANDOFF_POLL_MS,
      newDeviceApproval: e.NEW_DEVICE_APPROVAL,
      approvalTtlSeconds: e.APPROVAL_TTL_SECONDS,
      handoffTtlSeconds: e.HANDOFF_TTL_SECONDS,
      sessionCap: { limit: e.SESSION_LIMIT, policy: e.SESSION_LIMIT_POLICY },
      reauthMs: e.REAUTH_MINUTES * 60_000,
      livePollMs: e.LIVE_POLL_MS,
      appOrigin: appUrl.origin,
      secureCookies: appUrl.protocol === "https:",
      trustProxy: e.TRUST_PROXY,
      sessionSecret: e.SESSION_SECRET,
      sessionMaxAgeSeconds: e.SESSION_MAX_DAYS * 86_400,
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
