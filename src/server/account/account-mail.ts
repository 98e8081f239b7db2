import { details, message, type SecurityMail, type Where } from "~/server/security/notify";

// The email of the account lifecycle: links (reset, verification, change of address) and what
// happened (password reset, address changed, account deleted). Plain text messages in the shape of
// the security email (src/server/security/notify.ts); links go out with mailer.send, the rest with
// report() beside its audit row. Either way queued, never delaying or failing the request.

const minutes = (ms: number) => (ms >= 3_600_000 ? `${Math.round(ms / 3_600_000)} hours` : `${Math.round(ms / 60_000)} minutes`);

/** "ann@example.com" -> "a**@e******.com": enough to recognise one's own address, not to learn someone else's. */
function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 1) return "***";
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf(".");
  const name = dot > 0 ? domain.slice(0, dot) : domain;
  const tld = dot > 0 ? domain.slice(dot) : "";
  const mask = (s: string) => `${s.slice(0, 1)}${"*".repeat(Math.max(2, s.length - 1))}`;
  return `${mask(local)}@${mask(name)}${tld}`;
}

export const accountMail = {
  passwordResetLink(url: string, ttlMs: number): SecurityMail {
    return message("reset your password", [
      "Someone (hopefully you) asked to reset the password of your Handoff account. Open this link to choose a new one:",
      url,
      `The link works once, for ${minutes(ttlMs)}; asking again makes this one stop working. Resetting signs out every device.`,
      "If you did not ask for this, ignore this email: your password stays as it is.",
    ]);
  },
  passwordWasReset(w: Where, signedOut: number): SecurityMail {
    return message("your password was reset", [
      `The password of your account was reset with a link sent to this address.${signedOut ? ` ${signedOut} ${signedOut === 1 ? "session was" : "sessions were"} signed out.` : ""}`,
      details(w),
      "If this was not you, someone can read your email: secure your mailbox first, then reset your password again.",
    ]);
  },
  verificationLink(url: string, ttlMs: number): SecurityMail {
    return message("confirm your email address", [
      "Confirm that this address belongs to your Handoff account, so security alerts reach you:",
      url,
      `The link works once, for ${minutes(ttlMs)}.`,
      "If you did not create an account, ignore this email.",
    ]);
  },
  emailChangeLink(url: string, ttlMs: number): SecurityMail {
    return message("confirm your new email address", [
      "You asked to use this address for your Handoff account. Open this link to switch to it:",
      url,
      `The link works once, for ${minutes(ttlMs)}. Until you open it, your account keeps its current address.`,
      "If you did not ask for this, ignore this email.",
    ]);
  },
  emailChangeRequested(newEmail: string, w: Where): SecurityMail {
    return message("a change of your email address was requested", [
      `Someone signed in to your account asked to change its address to ${maskEmail(newEmail)}. Nothing changes until the link sent there is opened.`,
      details(w),
      'If this was not you, someone is in your account: use "Sign out everywhere" (emergency lockout) on a device you trust and change your password.',
    ]);
  },
  emailChanged(newEmail: string, w: Where): SecurityMail {
    return message("your email address was changed", [
      `Your account now uses ${maskEmail(newEmail)}; this address no longer signs in or receives its security email.`,
      details(w),
      "If this was not you, contact your administrator.",
    ]);
  },
  goodbye(w: Where): SecurityMail {
    return message("your account was deleted", [
      "Your Handoff account and everything stored about it (devices, addresses, sessions, sign-in history, security events) were deleted. This address can be used to create a new account.",
      details(w),
      "If this was not you, someone knew your password: create a new account if you want one, and change that password wherever else you use it.",
    ]);
  },
};
