"use client";

import { useEffect, useId, useState } from "react";

/**
 * A labelled password input, optionally with a hint or an error under it (the error wins).
 * `revealable` adds a Show/Hide button AFTER the input (so Tab goes Email → Password → Show, and
 * Enter in the field submits the form); it appears once scripts run, since it needs them.
 */
export function PasswordField({
  label,
  value,
  onChange,
  onBlur,
  name,
  autoComplete = "current-password",
  autoFocus,
  minLength,
  hint,
  error,
  revealable = false,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  onBlur?: () => void;
  /** The form field name, for a form that also posts without JavaScript. */
  name?: string;
  autoComplete?: "current-password" | "new-password";
  autoFocus?: boolean;
  minLength?: number;
  hint?: string;
  error?: string | null;
  revealable?: boolean;
}) {
  const id = useId();
  const note = error ?? hint;
  const [shown, setShown] = useState(false);
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  const canReveal = revealable && hydrated;
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      <div className="relative mt-1">
        <input
          id={id}
          name={name}
          type={canReveal && shown ? "text" : "password"}
          autoComplete={autoComplete}
          autoFocus={autoFocus}
          autoCapitalize={revealable ? "none" : undefined}
          spellCheck={revealable ? false : undefined}
          required
          minLength={minLength}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          onBlur={onBlur}
          aria-invalid={error ? true : undefined}
          aria-describedby={note ? `${id}-note` : undefined}
          className={`block w-full rounded-lg border border-slate-300 px-3 py-2 text-base shadow-xs focus:border-brand-500 focus:outline-none aria-invalid:border-red-500 ${revealable ? "pr-16" : ""}`}
        />
        {canReveal && (
          <button
            type="button"
            onClick={() => setShown((s) => !s)}
            aria-controls={id}
            aria-label={shown ? "Hide password" : "Show password"}
            className="absolute inset-y-1 right-1 rounded-md px-3 text-xs font-medium text-brand-700 hover:bg-brand-50 hover:underline"
          >
            {shown ? "Hide" : "Show"}
          </button>
        )}
      </div>
      {note && (
        <p id={`${id}-note`} className={`mt-1 text-sm ${error ? "text-red-700" : "text-slate-500"}`}>
          {note}
        </p>
      )}
    </div>
  );
}
