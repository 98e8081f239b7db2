"use client";

import { useId, useState } from "react";
import { PasswordField } from "~/components/password-field";
import { isSecondFactorCodeRequired, SecondFactorCodeField, useWantsSecondFactorCode, withCode } from "~/components/second-factor-code-field";
import { api } from "~/trpc/react";
import { clearingOnEdit, NewPasswordField } from "./new-password";

/** Change the password: the current one, a new one, and (by default) every other device signed out. */
export function PasswordPanel({ onChanged }: { onChanged: () => void }) {
  const id = useId();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [code, setCode] = useState("");
  const [codeAsked, setCodeAsked] = useState(false);
  const [signOutOthers, setSignOutOthers] = useState(true);
  const change = api.account.changePassword.useMutation({
    onSuccess: () => {
      setCurrent("");
      setNext("");
      setCode("");
      onChanged();
    },
    onError: (error) => {
      if (isSecondFactorCodeRequired(error)) setCodeAsked(true);
    },
  });
  // Each edit (and each submit the browser's own checks stop) starts afresh: an earlier answer,
  // such as "must differ", must not stay next to a different problem.
  const edited = clearingOnEdit(change.reset);
  const fieldErrors = (change.error?.data as { fieldErrors?: Record<string, string[]> } | undefined)?.fieldErrors;
  const newPasswordError = fieldErrors?.newPassword?.[0];
  const formError = newPasswordError ? null : change.error?.message;
  const wantsCode = useWantsSecondFactorCode(true, codeAsked);

  return (
    <section aria-labelledby={`${id}-heading`} className="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6">
      <h2 id={`${id}-heading`} className="text-lg font-semibold">
        Password
      </h2>
      <form
        className="mt-3 grid max-w-xl gap-4"
        onInvalid={() => change.reset()}
        onSubmit={(e) => {
          e.preventDefault();
          change.mutate({ currentPassword: current, newPassword: next, signOutOtherSessions: signOutOthers, ...withCode(code) });
        }}
      >
        <PasswordField label="Current password" value={current} onChange={edited(setCurrent)} />
        {wantsCode && <SecondFactorCodeField value={code} onChange={edited(setCode)} />}
        <NewPasswordField
          value={next}
          onChange={edited(setNext)}
          hint="At least 8 characters. A few unrelated words make a strong one."
          error={newPasswordError}
        />
        <label className="flex items-start gap-2 text-sm text-slate-800">
          <input
            type="checkbox"
            checked={signOutOthers}
            onChange={(e) => setSignOutOthers(e.target.checked)}
            className="mt-0.5 h-4 w-4 rounded border-slate-300"
          />
          <span>Sign out all other devices and apps</span>
        </label>
        {formError && (
          <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
            {formError}
          </p>
        )}
        {change.data && (
          <p role="status" className="rounded-lg border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800">
            Password changed.
            {change.data.signedOutSessions > 0 &&
              ` ${change.data.signedOutSessions} other ${change.data.signedOutSessions === 1 ? "session was" : "sessions were"} signed out.`}
          </p>
        )}
        <div>
          <button
            type="submit"
            disabled={change.isPending}
            className="rounded-lg bg-brand-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-brand-700 disabled:opacity-70"
          >
            {change.isPending ? "Changing…" : "Change password"}
          </button>
        </div>
      </form>
    </section>
  );
}
