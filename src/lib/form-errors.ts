/**
 * Why a sign-in, register or second-factor form posted without JavaScript (src/app/api/form) came back. Only
 * this short code travels in the redirect's query string: never the email or the password.
 */
const FORM_ERRORS = {
  invalid: "Invalid email or password",
  email: "Enter a valid email address.",
  password: "Enter your password.",
  new_password: "Use a password of 8 to 256 characters.",
  exists: "An account with this email already exists. Sign in instead.",
  throttled: "Too many attempts. Wait a moment, then try again.",
  session_limit: "Your account already has as many sessions as it may. Sign out on another device first.",
  approval_needs_js:
    "This is a new device for your account: approving it from one of your other devices needs JavaScript. Turn JavaScript on in this browser and sign in again.",
  wrong_code: "That code is not right (or was already used). Enter the current code from your authenticator app, or a recovery code.",
  second_factor_expired: "That sign-in has expired or is no longer valid. Sign in again.",
  unavailable: "The service is temporarily unavailable. Please try again in a moment.",
  failed: "Something went wrong. Please try again.",
} as const;

export type FormErrorCode = keyof typeof FORM_ERRORS;

/** The message for `?error=<code>`, or undefined for a missing or unknown code. */
export function formErrorMessage(code: string | string[] | undefined, retryAfter?: string | string[]): string | undefined {
  const value = Array.isArray(code) ? code[0] : code;
  if (!value || !Object.hasOwn(FORM_ERRORS, value)) return undefined;
  const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  if (value === "throttled" && Number.isInteger(seconds) && seconds > 0 && seconds < 86_400) return `Too many attempts. Try again in ${seconds} s.`;
  return FORM_ERRORS[value as FormErrorCode];
}
