"use client";

import { useId } from "react";

/** A labelled password input, optionally with a hint or an error under it (the error wins). */
export function PasswordField({
  label,
  value,
  onChange,
  autoComplete = "current-password",
  autoFocus,
  minLength,
  hint,
  error,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  autoComplete?: "current-password" | "new-password";
  autoFocus?: boolean;
  minLength?: number;
  hint?: string;
  error?: string | null;
}) {
  const id = useId();
  const note = error ?? hint;
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      <input
        id={id}
        type="password"
        autoComplete={autoComplete}
        autoFocus={autoFocus}
        required
        minLength={minLength}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={note ? `${id}-note` : undefined}
        className="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-base focus:border-brand-500 focus:outline-none"
      />
      {note && (
        <p id={`${id}-note`} className={`mt-1 text-sm ${error ? "text-red-700" : "text-slate-500"}`}>
          {note}
        </p>
      )}
    </div>
  );
}
