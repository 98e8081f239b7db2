"use client";

import { PasswordField } from "~/components/password-field";

/** Choosing a password: the same rules wherever it is chosen (at least 8 characters). */
export function NewPasswordField({ value, onChange, hint, error }: { value: string; onChange: (value: string) => void; hint: string; error?: string | null }) {
  return <PasswordField label="New password" value={value} onChange={onChange} autoComplete="new-password" minLength={8} hint={hint} error={error} />;
}

/**
 * onChange handlers that also clear a mutation's last answer: a message about what the user
 * typed before (a wrong password, "must differ") must not stay beside what they type now.
 */
export const clearingOnEdit = (reset: () => void) => (set: (value: string) => void) => (value: string) => {
  set(value);
  reset();
};
