import { accountMail } from "~/server/account/account-mail";
import type { AccountDeps } from "~/server/account/deps";
import { confirmPasswordAndCode } from "~/server/account/reauth";
import type { TwoFactorDeps } from "~/server/two-factor/two-factor";
import type { Actor } from "~/server/auth/types";
import { AuthError } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import { endEverything } from "~/server/sessions/end-everything";
import { userKey, userSlotKey } from "~/server/platform/redis/keys";
import { recentAuthKey, rotatedRefreshKey, userEpochKey } from "~/server/sessions/store";

// account.delete: with the password (throttled like every password check), the account goes.
// Order matters against a sign-in running at the same moment:
//  1. the rows go first (User, and by cascade its devices, addresses, history and security events;
//     sign-in rows of the address without a user too): a sign-in that has not looked the user up
//     yet finds no account;
//  2. then every session ends with a new epoch, QR handoffs and approvals are cancelled (the one
//     "end everything" step, sessions/end-everything.ts): a sign-in that found the user
//     before (1) read its epoch before this bump (it reads the epoch, then the user again), so its
//     session is either refused when created or already exists and is ended here;
//  3. then the user's Redis keys (links, device cache and trust nonces, live feed, throttling,
//     re-authentication marks) except the epoch,
//     which must outlive every sign-in in flight (it expires by itself), and the feed's sequence;
//     open pages get one last event (reason "account_deleted") and leave for the sign-in page.
// Left to expire by themselves: per-user rate-limit counters (within their window; deleting them
// would let deletion reset a limit) and cancelled QR/approval records (minutes).
// A goodbye email goes to the address, which can register again at once.

/** Keys under <prefix>user:<id>: that stay (each expires by itself). */
const KEPT_KEYS = (prefix: string, userId: string) => new Set([userEpochKey(prefix, userId), userKey(prefix, userId, "events:seq")]);

/** A SCAN pattern matching `key` literally, then anything (`*?[]\` escaped; braces are literal in Redis globs). */
const startingWith = (key: string) => `${key.replace(/[*?[\]\\]/g, "\\$&")}*`;

async function deleteUserKeys(deps: Pick<AccountDeps, "redis">, userId: string, sessionIds: string[]): Promise<number> {
  const { redis, prefix } = deps.redis;
  const kept = KEPT_KEYS(prefix, userId);
  const doomed = sessionIds.flatMap((id) => [recentAuthKey(prefix, id), rotatedRefreshKey(prefix, id)]);
  // Both patterns name the user's hash tag: on a cluster the scan runs on the node of that slot.
  for (const match of [startingWith(userKey(prefix, userId, "")), startingWith(userSlotKey(prefix, userId, `device-trust:${userId}:`))]) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, { match, count: 1000 });
      doomed.push(...keys.filter((k) => !kept.has(k)));
      cursor = String(next);
    } while (cursor !== "0");
  }
  return doomed.length ? redis.del(...doomed) : 0;
}

export async function deleteAccount(deps: AccountDeps & TwoFactorDeps, actor: Actor, input: { password: string; code?: string }): Promise<{ ok: true }> {
  const { user } = await confirmPasswordAndCode(deps, actor, input, {
    type: "reauth_failed",
    wrong: () => new AuthError("BAD_REQUEST", "Wrong password. Your account was not deleted.", { reason: "wrong_password" }),
  });
  const [, deleted] = await deps.db.$transaction([
    deps.db.loginEvent.deleteMany({ where: { OR: [{ userId: actor.userId }, { email: user.email }] } }),
    deps.db.user.deleteMany({ where: { id: actor.userId } }),
  ]);
  // A concurrent deletion got there first: this one has nothing left to do.
  if (deleted.count === 0) throw new AuthError("UNAUTHORIZED", "You are not signed in, or your session has ended.", { reason: "not_signed_in" });
  // No audit row (the user's rows are gone), and the pages are told below, once the feed is reset.
  const ended = await endEverything(deps, { userId: actor.userId, reason: "account_deleted", cancelPending: true, tellPages: false });
  await deps.links.voidLinks(actor.userId);
  await deps.throttle.clear(user.email);
  await deleteUserKeys(deps, actor.userId, [...ended.sessions, actor.sessionId]);
  // The feed was deleted with the other keys: it is left holding only this last word for open pages.
  await deps.events.publish(actor.userId, { type: "revoked", sessionIds: ended.sessions, reason: "account_deleted" });
  deps.mailer.send({ to: user.email, ...accountMail.goodbye({ ip: actor.ip, place: await locate(actor.ip) }) });
  return { ok: true };
}
