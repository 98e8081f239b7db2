import { accountMail } from "~/server/account/account-mail";
import type { AccountDeps } from "~/server/account/deps";
import type { AccountLink } from "~/server/account/link-store";
import type { Actor } from "~/server/auth/types";
import { AuthError } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import { report } from "~/server/security/report";

// Change of address: account.changeEmail (fresh authentication, declared on the procedure) mails a
// link to the new address and tells the old one (the new address masked); nothing changes until
// the link is opened (account.verifyEmail, which calls completeEmailChange). The new address is
// then verified (the link proved it), links sent to the old one stop working, and every session
// carries the new address. The link dies with the session that asked for it.

const emailTaken = () => new AuthError("CONFLICT", "An account with this email already exists.", { reason: "email_taken" });

/** account.changeEmail: a link to `newEmail` (a newer request voids it); the old address is told. */
export async function requestEmailChange(deps: AccountDeps, actor: Actor, newEmail: string): Promise<{ ok: true; pendingEmail: string; expiresAt: Date }> {
  const user = await deps.db.user.findUnique({ where: { id: actor.userId }, select: { email: true } });
  if (!user) throw new AuthError("UNAUTHORIZED", "You are not signed in, or your session has ended.", { reason: "not_signed_in" });
  if (newEmail === user.email) throw new AuthError("BAD_REQUEST", "This is already your address.", { reason: "email_unchanged" });
  // Registration tells the same (email_taken), so this reveals nothing new.
  if (await deps.db.user.findUnique({ where: { email: newEmail }, select: { id: true } })) throw emailTaken();
  const ttlMs = deps.policy.links.emailVerificationTtlMs;
  const { token, expiresAt } = await deps.links.issue(
    { purpose: "email_change", userId: actor.userId, sentTo: newEmail, accountEmail: user.email, sessionId: actor.sessionId },
    ttlMs,
  );
  deps.mailer.send({ to: newEmail, ...accountMail.emailChangeLink(`${deps.config.appOrigin}/verify/${token}`, ttlMs) });
  await report(deps, {
    userId: actor.userId,
    audit: { type: "email_change_requested", sessionId: actor.sessionId, ip: actor.ip, detail: { to: newEmail } },
    mail: { to: user.email, message: accountMail.emailChangeRequested(newEmail, { ip: actor.ip, place: await locate(actor.ip) }) },
  });
  return { ok: true, pendingEmail: newEmail, expiresAt };
}

/** The change-of-address link was opened: the account takes the new address, verified. */
export async function completeEmailChange(deps: AccountDeps, link: AccountLink, ip: string): Promise<{ ok: true; kind: "email_changed"; email: string }> {
  // A change asked for by a session that has ended since (lockout, password reset, revoked: maybe a
  // stolen cookie) is void: otherwise the new address could take the account back after those.
  if (!link.sessionId || !(await deps.sessions.isLive(link.sessionId)))
    throw new AuthError("BAD_REQUEST", "This link is not valid any more: the session that asked for the change has ended.", { reason: "verify_link_invalid" });
  let changed;
  try {
    // Only while the account still has the address it had when the change was asked for.
    changed = await deps.db.user.updateMany({
      where: { id: link.userId, email: link.accountEmail },
      data: { email: link.sentTo, emailVerifiedAt: new Date() },
    });
  } catch (error) {
    // By code, not class: the client may have been built by another server bundle.
    if ((error as { code?: unknown } | null)?.code === "P2002") throw emailTaken();
    throw error;
  }
  if (changed.count === 0)
    throw new AuthError("BAD_REQUEST", "This link is not valid any more: the account's address changed meanwhile.", { reason: "verify_link_invalid" });
  // Sessions carry the address security mail goes to: the old one may be anybody's soon.
  await deps.sessions.setUserAccount(link.userId, { email: link.sentTo, emailVerified: true });
  // Links sent to the old address prove nothing about the account any more.
  await deps.links.voidLinks(link.userId, ["password_reset", "email_verification"]);
  await report(deps, {
    userId: link.userId,
    audit: { type: "email_changed", ip, detail: { from: link.accountEmail, to: link.sentTo } },
    mail: { to: link.accountEmail, message: accountMail.emailChanged(link.sentTo, { ip, place: await locate(ip) }) },
  });
  return { ok: true, kind: "email_changed", email: link.sentTo };
}
