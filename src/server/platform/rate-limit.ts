import type { Ratelimit } from "@upstash/ratelimit";
import { AuthError } from "~/server/platform/errors";

/**
 * Counts one request against a sliding window (@upstash/ratelimit, atomic in Redis and shared by
 * every instance); over the limit, TOO_MANY_REQUESTS with the seconds to wait.
 */
export async function enforceRateLimit(limiter: Ratelimit, key: string, message: string): Promise<void> {
  const { success, reset } = await limiter.limit(key);
  if (!success) {
    const retryAfter = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
    throw new AuthError("TOO_MANY_REQUESTS", `${message} Try again in ${retryAfter} s.`, { reason: "rate_limited", retryAfterSeconds: retryAfter });
  }
}
