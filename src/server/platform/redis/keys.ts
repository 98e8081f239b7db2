import crypto from "node:crypto";
import { randomToken } from "~/server/platform/crypto";

// The key layout: every Redis key name of the app is made here, so that the keys one Lua script
// touches always share one hash slot (Redis Cluster runs a script only when all its keys hash to
// one slot, and every key a script touches is passed in KEYS, never built inside Lua).
//
// - A user's keys carry the user's hash tag: `<prefix>{<tag>}user:<userId>:<what>`, where the tag
//   is the first 12 characters of base64url(SHA-256(userId)).
// - Ids the app mints for something of a user start with that tag (a session id is
//   `<tag><22 random characters>`), so a cookie, refresh token, access token, QR token or approval
//   id finds its slot without a lookup: `<prefix>{<first 12 characters of the id>}session:<id>`.
//   Records minted before their user is known (a sign-in QR code) get a random tag of their own.
// - Keys of one thing that are not a user's (a throttle per email, a rate-limit identifier) put
//   that thing in braces, e.g. `throttle:signin:{<hash>}` and `throttle:signin:{<hash>}:inflight`.
//
// REDIS_PREFIX may not contain braces (src/env.ts), or it would decide the slot itself.

/** Length of a hash tag, and of the tag at the start of every tagged id. */
export const HASH_TAG_LENGTH = 12;

const TAG = /^[A-Za-z0-9_-]{12}$/;

/** The hash tag of a user's keys and of the ids minted for that user. */
export function userTag(userId: string): string {
  return crypto.createHash("sha256").update(userId).digest("base64url").slice(0, HASH_TAG_LENGTH);
}

/** A fresh id carrying `tag` (a user's, or a random one): the tag, then 128 random bits (34 characters). */
export function taggedId(tag: string = randomToken(9)): string {
  return `${tag}${randomToken(16)}`;
}

/** The hash tag an id carries (its first 12 characters); any string yields a tag, a foreign id simply names no key. */
export function tagOf(id: string): string {
  const tag = id.slice(0, HASH_TAG_LENGTH);
  return TAG.test(tag) ? tag : "-".repeat(HASH_TAG_LENGTH);
}

/** Whether the id was minted for this user (carries the user's tag): a session of another user never does. */
export const isUsersId = (id: string, userId: string) => tagOf(id) === userTag(userId);

/** `<prefix>{<user tag>}user:<userId>:<what>` */
export const userKey = (prefix: string, userId: string, what: string) => `${prefix}{${userTag(userId)}}user:${userId}:${what}`;

/** `<prefix>{<user tag>}<what>` : a key in the user's slot outside the `user:<id>:` namespace. */
export const userSlotKey = (prefix: string, userId: string, what: string) => `${prefix}{${userTag(userId)}}${what}`;

/** `<prefix>{<id's tag>}<kind>:<id>`: a record named by a tagged id (session, QR handoff, approval, ...). */
export const idKey = (prefix: string, kind: string, id: string) => `${prefix}{${tagOf(id)}}${kind}:${id}`;

/** The session hash. */
export const sessionKey = (prefix: string, sessionId: string) => idKey(prefix, "session", sessionId);

/** A key of one session beside its hash (same slot): `<prefix>{<tag>}<what>:<sessionId>`. */
export const sessionSideKey = (prefix: string, sessionId: string, what: string) => `${prefix}{${tagOf(sessionId)}}${what}:${sessionId}`;

/** `<prefix><name>:{<id>}`: keys of one thing that is not a user's (their suffixes keep the slot). */
export const braced = (prefix: string, name: string, id: string) => `${prefix}${name}:{${id}}`;

/**
 * The pub/sub channel of live notifications (src/server/live/hub.ts). It is not a key: on a Redis
 * Cluster a PUBLISH reaches every node, whatever the slot of the script that sends it.
 */
export const liveChannel = (prefix: string) => `${prefix}live`;
/** What a notification names: a user's feed (`u:<userId>`) or one short-lived record (`r:<id>`). */
export const userTopic = (userId: string) => `u:${userId}`;
export const recordTopic = (id: string) => `r:${id}`;
