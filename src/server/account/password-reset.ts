import { sleep } from "~/lib/sleep";
import { accountMail } from "~/server/account/account-mail";
import type { AccountDeps } from "~/server/account/deps";
import { AuthError } from "~/server/platform/errors";
import { locate } from "~/server/platform/geo";
import { logger } from "~/server/platform/logger";
import { hashPassword } from "~/server/platform/password";
import { PASSWORD_RESET_MIN_ANSWER_MS } from "~/server/policy";
import { report } from "~/server/security/report";
import { endEverything } from "~/server/sessions/end-everything";

// Password reset by email (ASVS 6.4): account.requestPasswordReset mails a single-use link
// (account/link-store.ts) valid PASSWORD_RESET_TTL_MINUTES; account.resetPassword sets the new
// password and ends everything the old one opened. The request answers the same thing, no sooner
// than PASSWORD_RESET_MIN_ANSWER_MS, whether the address has an account or not (no enumeration);
// the per-IP and per-address limits are declared on the procedure.

/** Issues the link, mails it and records the request: off the request path (see requestPasswordReset). */
async function sendResetLink(deps: AccountDeps, user: { id: string; email: string }, ip: string): Promise<void> {
  const ttlMs = deps.policy.links.passwordResetTtlMs;
  const { token } = await deps.links.issue({ purpose: "password_reset", userId: user.id, sentTo: user.email, accountEmail: user.email }, ttlMs);
  deps.mailer.send({ to: user.email, ...accountMail.passwordResetLink(`${deps.config.appOrigin}/reset/${token}`, ttlMs) });
  await report(deps, { userId: user.id, audit: { type: "password_reset_requested", ip } });
}

/** Reset links being issued after their request was answered (tests wait for them). */
const inFlight = new Set<Promise<void>>();
export async function resetLinksSent(): Promise<void> {
  await Promise.all([...inFlight]);
}

/**
 * Mails a reset link when the address has an account; always `{ ok: true }`. The request path does
 * the same work for every address (one lookup) and answers no sooner than
 * PASSWORD_RESET_MIN_ANSWER_MS; the link, the mail and the audit row for a known address are done
 * after the answer, so a loaded server cannot make a known address slower to answer.
 */
export async function requestPasswordReset(deps: AccountDeps, email: string, ip: string): Promise<{ ok: true }> {
  const started = performance.now();
  try {
    const user = await deps.db.user.findUnique({ where: { email }, select: { id: true, email: true } });
    if (user) {
      const work = sendResetLink(deps, user, ip).catch((error: unknown) =>
        logger().error({ userId: user.id, err: error }, "could not send a password-reset link"),
      );
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    }
  } finally {
    // Known and unknown addresses alike (and failures too) answer at the same moment.
    await sleep(Math.max(0, PASSWORD_RESET_MIN_ANSWER_MS - (performance.now() - started)));
  }
  return { ok: true };
}

const resetLinkInvalid = (why: "invalid" | "expired") =>
  new AuthError(
    "BAD_REQUEST",
    why === "expired"
      ? "This password-reset link has expired. Ask for a new one."
      : "This password-reset link is not valid: it was already used, a newer one was sent, or it is incomplete. Ask for a new one.",
    { reason: "reset_link_invalid" },
  );

/** Whether a reset link would work now (the page shows the form or says why not); nothing is used up. */
export async function checkResetLink(
  deps: Pick<AccountDeps, "links">,
  token: string,
): Promise<{ ok: true; expiresAt: Date } | { ok: false; why: "invalid" | "expired" }> {
  const found = await deps.links.peek(token, ["password_reset"]);
  return found.ok ? { ok: true, expiresAt: found.link.expiresAt } : found;
}

/**
 * account.resetPassword: the link is used up atomically (of two concurrent uses one wins), the
 * password is set and the address counts as verified (the link proved control of it), and the
 * account's throttling is cleared. Then the one "end everything" step (sessions/end-everything.ts):
 * every session and token session ends (and any sign-in in flight: the epoch), pending QR handoffs
 * and approvals are cancelled, and one report() writes the security event, tells open pages (they
 * leave for /login) and emails the owner.
 */
export async function resetPassword(deps: AccountDeps, input: { token: string; newPassword: string }, ip: string): Promise<{ ok: true; email: string }> {
  // A forged or dead link costs no password hash.
  const usable = await deps.links.peek(input.token, ["password_reset"]);
  if (!usable.ok) throw resetLinkInvalid(usable.why);
  const passwordHash = await hashPassword(input.newPassword);
  const taken = await deps.links.take(input.token, ["password_reset"]);
  if (!taken.ok) throw resetLinkInvalid(taken.why);
  const { userId, accountEmail } = taken.link;
  // Only while the account still has the address the link was sent to.
  const rows = await deps.db.$queryRaw<{ email: string }[]>`
    UPDATE "User" SET "passwordHash" = ${passwordHash}, "emailVerifiedAt" = COALESCE("emailVerifiedAt", now()), "updatedAt" = now()
    WHERE "id" = ${userId}::uuid AND "email" = ${accountEmail}
    RETURNING "email"`;
  if (rows.length === 0) throw resetLinkInvalid("invalid");
  // The password is written first: a sign-in that checked the old one is refused (auth/sign-in.ts: the hash is checked again after the epoch is read).
  await deps.throttle.clear(accountEmail);
  const where = { ip, place: await locate(ip) };
  await endEverything(deps, {
    userId,
    reason: "password_reset",
    cancelPending: true,
    report: (ended) => ({
      audit: {
        type: "password_reset",
        ip,
        detail: { ended: ended.sessions, cancelledHandoffs: ended.cancelledHandoffs, cancelledApprovals: ended.cancelledApprovals },
      },
      mail: { to: accountEmail, message: accountMail.passwordWasReset(where, ended.sessions.length) },
    }),
  });
  return { ok: true, email: accountEmail };
}
