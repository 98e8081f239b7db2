"use client";

import { useActionState, useId, useState } from "react";
import { requestPasswordResetAction, resetPasswordAction, type FormState } from "~/app/account-actions";
import { PasswordField } from "~/components/password-field";

const idle: FormState = { status: "idle" };

const inputClass =
  "mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-base shadow-xs placeholder:text-slate-400 focus:border-brand-500 focus:outline-none aria-invalid:border-red-500";
const buttonClass =
  "w-full rounded-lg bg-brand-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-brand-700 disabled:cursor-wait disabled:opacity-70";
export const cardClass = "space-y-4 rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6";

function FormError({ state, id }: { state: FormState; id: string }) {
  if (state.status !== "error") return null;
  return (
    <div id={id} role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      {state.message}
    </div>
  );
}

/** /forgot: an address; the answer is the same whether it has an account or not. */
export function ForgotForm() {
  const id = useId();
  const [state, action, pending] = useActionState(requestPasswordResetAction, idle);
  // Controlled, so the address stays in the field when the answer is an error.
  const [email, setEmail] = useState("");
  if (state.status === "done") {
    return (
      <div role="status" className={cardClass} data-testid="reset-requested">
        <p className="text-sm text-slate-800">{state.message}</p>
      </div>
    );
  }
  return (
    <form action={action} className={cardClass} aria-describedby={state.status === "error" ? `${id}-error` : undefined}>
      <FormError state={state} id={`${id}-error`} />
      <div>
        <label htmlFor={`${id}-email`} className="block text-sm font-medium text-slate-800">
          Email
        </label>
        <input
          id={`${id}-email`}
          name="email"
          type="email"
          inputMode="email"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          aria-invalid={state.status === "error" && state.field === "email" ? true : undefined}
          className={inputClass}
          placeholder="you@example.com"
        />
      </div>
      <button type="submit" disabled={pending} className={buttonClass}>
        {pending ? "Sending…" : "Email me a reset link"}
      </button>
    </form>
  );
}

/** /reset/<token>: the new password, twice. */
export function ResetForm({ token }: { token: string }) {
  const id = useId();
  const [state, action, pending] = useActionState(resetPasswordAction, idle);
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const fieldError = (field: string) => (state.status === "error" && state.field === field ? state.message : undefined);
  const formError = state.status === "error" && !state.field ? state : idle;
  return (
    <form action={action} className={cardClass}>
      <input type="hidden" name="token" value={token} />
      <FormError state={formError} id={`${id}-error`} />
      <PasswordField
        label="New password"
        name="newPassword"
        autoComplete="new-password"
        revealable
        autoFocus
        value={password}
        onChange={setPassword}
        hint="At least 8 characters. A passphrase works well."
        error={fieldError("newPassword")}
      />
      <PasswordField
        label="New password again"
        name="confirmPassword"
        autoComplete="new-password"
        value={confirm}
        onChange={setConfirm}
        error={fieldError("confirmPassword")}
      />
      <p className="text-sm text-slate-600">Every device signed in to your account will be signed out.</p>
      <button type="submit" disabled={pending} className={buttonClass}>
        {pending ? "Saving…" : "Set new password"}
      </button>
    </form>
  );
}
