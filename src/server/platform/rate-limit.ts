import type { Ratelimit } from "@upstash/ratelimit";
import { AuthError } from "~/server/platform/errors";
import { metrics } from "~/server/platform/metrics";

/** The limit's name for metrics: its key prefix after "ratelimit:" (services.ts names them signin:ip, handoff:user, ...). */
const limitName = (limiter: Ratelimit) => String((limiter as unknown as { prefix?: unknown }).prefix ?? "").replace(/^.*ratelimit:/, "") || "unknown";

/**
 * The identifier @upstash/ratelimit is given: in braces, so the two windows of one identifier
 * (`<prefix>:{<key>}:<window>`, both in one script) hash to one Redis Cluster slot.
 */
const rateLimitIdentifier = (key: string) => `{${key}}`;

/**
 * Counts one request against a sliding window (@upstash/ratelimit, atomic in Redis and shared by
 * every instance); over the limit, TOO_MANY_REQUESTS with the seconds to wait.
 */
export async function enforceRateLimit(limiter: Ratelimit, key: string, message: string): Promise<void> {
  const { success, reset } = await limiter.limit(rateLimitIdentifier(key));
  if (!success) {
    metrics().rateLimitHits.inc({ limit: limitName(limiter) });
    const retryAfter = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
    throw new AuthError("TOO_MANY_REQUESTS", `${message} Try again in ${retryAfter} s.`, { reason: "rate_limited", retryAfterSeconds: retryAfter });
  }
}
