import type { Place } from "~/server/platform/geo";

// The security email a user gets. Plain text: every mail says what happened, from which device
// and place, when, and what to do if it was not them. These build the message; report()
// (security/report.ts) sends it with the audit row and the live event it goes with.

export interface Where {
  deviceName?: string;
  ip: string;
  place: Place;
  at?: Date;
}

const IF_NOT_YOU = 'If this was not you: open your dashboard on a device you trust, use "Sign out everywhere" (emergency lockout), then change your password.';

/** Device, place and time, as every security email states them. */
export function details(where: Where): string {
  const lines = [
    ...(where.deviceName ? [`Device: ${where.deviceName}`] : []),
    `Place: ${where.place.label} (IP ${where.ip}, estimated from the address)`,
    `Time: ${(where.at ?? new Date()).toUTCString()}`,
  ];
  return lines.join("\n");
}

/** A security email's subject and text (the recipient is the account's address). */
export interface SecurityMail {
  subject: string;
  text: string;
}

/** A security email from its subject and paragraphs. */
export function message(subject: string, paragraphs: string[]): SecurityMail {
  return { subject: `Handoff: ${subject}`, text: `${paragraphs.join("\n\n")}\n\n— Handoff\n` };
}

export const notify = {
  newDeviceSignIn(where: Where): SecurityMail {
    return message("new sign-in on a new device", [`Your account was just signed in on a device it has not been used on before.`, details(where), IF_NOT_YOU]);
  },
  suspiciousSignIn(where: Where, why: string): SecurityMail {
    return message("suspicious sign-in", [`A sign-in to your account looked unusual. ${why}`, details(where), IF_NOT_YOU]);
  },
  throttled(where: Where, attempts: number): SecurityMail {
    return message("failed sign-ins on your account", [
      `There were ${attempts} sign-in attempts with a wrong password on your account. Further attempts now have to wait longer and longer, so guessing is slowed down; your own signed-in devices are not affected.`,
      details(where),
      "If this was not you, your password has not been given away by these attempts. If you use it anywhere else, change it.",
    ]);
  },
  lockout(where: Where, ended: number): SecurityMail {
    return message("all sessions signed out", [
      `Emergency lockout: ${ended} ${ended === 1 ? "session was" : "sessions were"} signed out on every device, at your request.`,
      details(where),
      "If this was not you, someone knows your password: sign in and change it now.",
    ]);
  },
  passwordChanged(where: Where, signedOut: number): SecurityMail {
    return message("your password was changed", [
      `The password of your account was changed.${signedOut ? ` ${signedOut} other ${signedOut === 1 ? "session was" : "sessions were"} signed out.` : ""}`,
      details(where),
      'If this was not you, someone has access to your account: use emergency lockout ("Sign out everywhere") on a device you trust and contact your administrator.',
    ]);
  },
  secondFactorFailed(where: Where, attempts: number): SecurityMail {
    return message("your password was used, the code was not", [
      `Someone entered the right password for your account, then a wrong two-factor code ${attempts} times: that sign-in was refused.`,
      details(where),
      "If this was not you, someone knows your password: sign in and change it now.",
    ]);
  },
  twoFactorEnabled(where: Where): SecurityMail {
    return message("two-factor authentication turned on", [
      "Two-factor authentication is now on for your account: signing in needs a code from your authenticator app (or a recovery code) after the password.",
      details(where),
      IF_NOT_YOU,
    ]);
  },
  twoFactorDisabled(where: Where): SecurityMail {
    return message("two-factor authentication turned off", [
      "Two-factor authentication was turned off for your account: the password alone signs in again.",
      details(where),
      IF_NOT_YOU,
    ]);
  },
  recoveryCodesRegenerated(where: Where): SecurityMail {
    return message("new recovery codes", ["New recovery codes were created for your account; the old ones no longer work.", details(where), IF_NOT_YOU]);
  },
  recoveryCodeUsed(where: Where, left: number): SecurityMail {
    return message("a recovery code was used", [
      `A recovery code was used to sign in to your account. ${left} unused ${left === 1 ? "code remains" : "codes remain"}${left <= 3 ? ": create new ones on your dashboard" : ""}.`,
      details(where),
      'If this was not you, someone has your password and a recovery code: use emergency lockout ("Sign out everywhere") on a device you trust, change your password and create new recovery codes.',
    ]);
  },
};
