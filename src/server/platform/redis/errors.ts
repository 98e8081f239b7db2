import { isErrorNamed } from "~/server/platform/errors";

// Redis being unreachable must reach the API as a 503, whatever client talked to it. node-redis
// reports it with a dozen error classes (ClientOfflineError, SocketClosedUnexpectedlyError,
// ConnectionTimeoutError, ...) whose `name` is plain "Error", and @upstash/redis turns every
// `{ error }` a requester answers into an UpstashError carrying a message only. So the runners
// classify at the source, where the kind is still known, and the requester rejects with this
// error instead of answering `{ error }`: @upstash/redis passes a requester's rejection through
// unchanged. Recognised by name, never instanceof (Next.js bundles have separate class copies).

const REDIS_UNAVAILABLE = "RedisUnavailableError";

export interface RedisUnavailableError extends Error {
  code: "REDIS_UNAVAILABLE";
}

export function redisUnavailable(cause: unknown): RedisUnavailableError {
  const error = new Error("Redis is unreachable or cannot serve requests right now.", { cause }) as RedisUnavailableError;
  error.name = REDIS_UNAVAILABLE;
  error.code = "REDIS_UNAVAILABLE";
  return error;
}

export const isRedisUnavailable = (error: unknown): error is RedisUnavailableError => isErrorNamed(error, REDIS_UNAVAILABLE);

// A Redis error reply starts with its error code (RESP). These say the server cannot serve now
// (loading its data after a restart, a script running too long, a replica mid-failover), not that
// the command was wrong.
const UNAVAILABLE_REPLY_CODES = new Set(["LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY"]);

export const isUnavailableReply = (message: string) => UNAVAILABLE_REPLY_CODES.has(message.split(" ", 1)[0]!);
