"use client";

import { useId, useState } from "react";
import { ConfirmDialog } from "~/components/confirm-dialog";
import { PasswordField } from "~/components/password-field";
import { api } from "~/trpc/react";
import { clearingOnEdit, NewPasswordField } from "./new-password";

/**
 * Emergency lockout: explains, asks for the password, ends every session including this one, and
 * (optional, in the same step) sets a new password, since "someone is in my account" often means
 * they know it.
 */
export function LockoutPanel({ onLockedOut }: { onLockedOut: (passwordChanged: boolean) => void }) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [changePassword, setChangePassword] = useState(false);
  const [newPassword, setNewPassword] = useState("");
  const lockout = api.sessions.lockout.useMutation({ onSuccess: (_result, sent) => onLockedOut("newPassword" in sent) });
  const edited = clearingOnEdit(lockout.reset);
  // `newPassword` is sent only when asked for.
  const input = changePassword ? { password, newPassword } : { password };

  return (
    <section aria-labelledby={`${id}-heading`} className="rounded-2xl border border-red-200 bg-red-50/60 p-5 sm:p-6">
      <h2 id={`${id}-heading`} className="text-lg font-semibold text-red-900">
        Emergency lockout
      </h2>
      <p className="mt-1 max-w-2xl text-sm text-red-900/80">
        Lost a device or think someone else is in your account? This ends every session on every device at once, this one included, and can set a new password
        in the same step.
      </p>
      <button
        type="button"
        onClick={() => {
          lockout.reset();
          setPassword("");
          setChangePassword(false);
          setNewPassword("");
          setOpen(true);
        }}
        className="mt-4 rounded-lg bg-red-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-red-700"
      >
        Sign out everywhere…
      </button>
      <ConfirmDialog
        open={open}
        title="Sign out everywhere?"
        confirmLabel="Sign out everywhere"
        busyLabel="Signing out…"
        busy={lockout.isPending}
        error={lockout.error?.message}
        danger
        onConfirm={() => lockout.mutate(input)}
        onClose={() => setOpen(false)}
      >
        <p>Every session of your account ends now, including this one. Enter your password to confirm.</p>
        <PasswordField label="Password" value={password} onChange={edited(setPassword)} />
        <label className="flex items-start gap-2 text-sm text-slate-800">
          <input
            type="checkbox"
            checked={changePassword}
            onChange={(e) => setChangePassword(e.target.checked)}
            className="mt-0.5 h-4 w-4 rounded border-slate-300"
          />
          <span>Also set a new password</span>
        </label>
        {changePassword && (
          <NewPasswordField
            value={newPassword}
            onChange={edited(setNewPassword)}
            hint="At least 8 characters. Whoever knows the old one can no longer use it."
          />
        )}
      </ConfirmDialog>
    </section>
  );
}
