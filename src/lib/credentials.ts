import { z } from "zod";

/** Emails are compared and stored trimmed and lower-cased, so "Ann@X.com" and "ann@x.com" are one account. */
const normalizeEmail = (email: string) => email.trim().toLowerCase();

export const emailInput = z
  .string({ message: "Email is required" })
  .trim()
  .min(1, { message: "Email is required" })
  .max(254, { message: "Email must be at most 254 characters" })
  .pipe(z.email({ message: "Enter a valid email address" }))
  .transform(normalizeEmail);

// NIST SP 800-63B: at least 8 characters, allow at least 64 (we allow 256), no composition rules.
// Length counts Unicode code points, not UTF-16 units.
export const newPasswordInput = z
  .string({ message: "Password is required" })
  .refine((p) => [...p].length >= 8, { message: "Password must be at least 8 characters" })
  .refine((p) => [...p].length <= 256, { message: "Password must be at most 256 characters" });

/** Sign-in accepts any string up to the maximum: rules are enforced when a password is chosen. */
export const passwordInput = z
  .string({ message: "Password is required" })
  .min(1, { message: "Password is required" })
  .max(1024, { message: "Password must be at most 256 characters" });
