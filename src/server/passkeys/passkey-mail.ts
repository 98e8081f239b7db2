import { details, message, type SecurityMail, type Where } from "~/server/security/notify";

// The security emails about passkeys (sent through report() with their audit rows).

const IF_NOT_YOU =
  'If this was not you: open your dashboard on a device you trust and use "Sign out everywhere" (emergency lockout): it also removes every passkey.';

export const passkeyMail = {
  added(where: Where, name: string): SecurityMail {
    return message("a passkey was added", [
      `A passkey named "${name}" was added to your account. It can now sign in without a password.`,
      details(where),
      IF_NOT_YOU,
    ]);
  },
  removed(where: Where, name: string): SecurityMail {
    return message("a passkey was removed", [
      `The passkey named "${name}" was removed from your account and can no longer sign in.`,
      details(where),
      IF_NOT_YOU,
    ]);
  },
  cloned(where: Where): SecurityMail {
    return message("a copied passkey was refused", [
      "A sign-in with one of your passkeys was refused: its signature counter went backwards, which happens when the authenticator was copied. Remove that passkey from your account.",
      details(where),
      IF_NOT_YOU,
    ]);
  },
};
