import { accountMail } from "~/server/account/account-mail";
import type { AccountDeps } from "~/server/account/deps";
import { completeEmailChange } from "~/server/account/email-change";
import { loadAccountStatus } from "~/server/account/account-status";
import type { Actor } from "~/server/auth/types";
import type { Db } from "~/server/platform/db";
import { AuthError } from "~/server/platform/errors";
import type { Policy } from "~/server/policy";
import { report } from "~/server/security/report";

// Email verification: registration mails a link /verify/<token> (EMAIL_VERIFICATION_TTL_HOURS,
// single use, a newer one voids it; account/link-store.ts); opening it (account.verifyEmail) marks
// the address verified. The same page and procedure take a change-of-address link
// (account/email-change.ts). With EMAIL_VERIFICATION=required an unverified account signs in but
// reaches only "check your inbox", and security-sensitive procedures refuse (requireVerifiedEmail,
// declared as a procedure kind in src/server/api/trpc.ts).

const EMAIL_UNVERIFIED = "email_unverified";

/** Mails a verification link for the account's current address (voiding the previous one). */
export async function sendVerificationLink(deps: Pick<AccountDeps, "links" | "mailer" | "policy" | "config">, user: { id: string; email: string }) {
  const ttlMs = deps.policy.links.emailVerificationTtlMs;
  const { token, expiresAt } = await deps.links.issue({ purpose: "email_verification", userId: user.id, sentTo: user.email, accountEmail: user.email }, ttlMs);
  deps.mailer.send({ to: user.email, ...accountMail.verificationLink(`${deps.config.appOrigin}/verify/${token}`, ttlMs) });
  return { expiresAt };
}

/** With EMAIL_VERIFICATION=required: FORBIDDEN email_unverified until the address is verified. */
export async function requireVerifiedEmail(deps: { db: Db; policy: Pick<Policy, "emailVerification"> }, userId: string): Promise<void> {
  if (deps.policy.emailVerification !== "required") return;
  if ((await loadAccountStatus(deps.db, userId))?.emailVerified) return;
  throw new AuthError("FORBIDDEN", "Confirm your email address first: open the link we sent to it, or ask for a new one.", { reason: EMAIL_UNVERIFIED });
}

/** account.resendVerification: a new link (the old one stops working), unless the address is verified already. */
export async function resendVerification(deps: AccountDeps, actor: Actor): Promise<{ ok: true; alreadyVerified: boolean; sentTo: string | null }> {
  const user = await deps.db.user.findUnique({ where: { id: actor.userId }, select: { id: true, email: true, emailVerifiedAt: true } });
  if (!user) throw new AuthError("UNAUTHORIZED", "You are not signed in, or your session has ended.", { reason: "not_signed_in" });
  if (user.emailVerifiedAt) return { ok: true, alreadyVerified: true, sentTo: null };
  await sendVerificationLink(deps, user);
  return { ok: true, alreadyVerified: false, sentTo: user.email };
}

const verifyLinkInvalid = (why: "invalid" | "expired") =>
  new AuthError(
    "BAD_REQUEST",
    why === "expired"
      ? "This link has expired. Ask for a new one from your dashboard."
      : "This link is not valid: it was already used, a newer one was sent, or it is incomplete.",
    { reason: "verify_link_invalid" },
  );

/** What a verification or change-of-address link would do (the page shows it before it is used). */
export async function checkVerifyLink(
  deps: Pick<AccountDeps, "links">,
  token: string,
): Promise<{ ok: true; kind: "verify" | "email_change"; sentTo: string } | { ok: false; why: "invalid" | "expired" }> {
  const found = await deps.links.peek(token, ["email_verification", "email_change"]);
  if (!found.ok) return found;
  return { ok: true, kind: found.link.purpose === "email_change" ? "email_change" : "verify", sentTo: found.link.sentTo };
}

/**
 * account.verifyEmail: uses the link up (atomically) and marks the address verified, or, for a
 * change-of-address link, switches the account to the new address. `kind` says which.
 */
export async function verifyEmail(deps: AccountDeps, token: string, ip: string): Promise<{ ok: true; kind: "verified" | "email_changed"; email: string }> {
  const taken = await deps.links.take(token, ["email_verification", "email_change"]);
  if (!taken.ok) throw verifyLinkInvalid(taken.why);
  const link = taken.link;
  if (link.purpose === "email_change") return completeEmailChange(deps, link, ip);
  // Only while the account still has the address the link was sent to.
  const rows = await deps.db.$queryRaw<{ email: string }[]>`
    UPDATE "User" SET "emailVerifiedAt" = COALESCE("emailVerifiedAt", now()), "updatedAt" = now()
    WHERE "id" = ${link.userId}::uuid AND "email" = ${link.accountEmail}
    RETURNING "email"`;
  if (rows.length === 0) throw verifyLinkInvalid("invalid");
  await deps.sessions.setUserAccount(link.userId, { email: link.accountEmail, emailVerified: true });
  await report(deps, { userId: link.userId, audit: { type: "email_verified", ip } });
  return { ok: true, kind: "verified", email: link.accountEmail };
}
