"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useId, useState } from "react";
import { emailInput, newPasswordInput, passwordInput } from "~/lib/credentials";
import { api, type RouterOutputs } from "~/trpc/react";
import { ApprovalWaiting } from "./approvals/approval-waiting";

type Mode = "login" | "register";
type Field = "email" | "password";

const copy = {
  login: { action: "Sign in", busy: "Signing in…", switchText: "New here?", switchLink: "Create an account", switchHref: "/register" },
  register: { action: "Create account", busy: "Creating account…", switchText: "Already have an account?", switchLink: "Sign in", switchHref: "/login" },
} as const;

function validate(mode: Mode, field: Field, value: string): string | undefined {
  const schema = field === "email" ? emailInput : mode === "register" ? newPasswordInput : passwordInput;
  const result = schema.safeParse(value);
  return result.success ? undefined : result.error.issues[0]?.message;
}

/** The email + password form. After success it goes to `next` (a path of this app). */
export function AuthForm({ mode, next = "/dashboard" }: { mode: Mode; next?: string }) {
  const router = useRouter();
  const id = useId();
  const text = copy[mode];
  const [values, setValues] = useState({ email: "", password: "" });
  const [touched, setTouched] = useState<Record<Field, boolean>>({ email: false, password: false });
  const [serverErrors, setServerErrors] = useState<Partial<Record<Field, string>>>({});
  const [formError, setFormError] = useState<string>();
  const [showPassword, setShowPassword] = useState(false);

  const [approval, setApproval] = useState<Extract<RouterOutputs["auth"]["login"], { status: "approval_required" }> | null>(null);
  const onSuccess = (result: { status?: string } & Partial<RouterOutputs["auth"]["login"]>) => {
    if (result.status === "approval_required") setApproval(result as Extract<RouterOutputs["auth"]["login"], { status: "approval_required" }>);
    else router.replace(next);
  };
  const onError = (error: { message: string; data?: unknown }) => {
    const fields = (error.data as { fieldErrors?: Record<string, string[] | undefined> } | null | undefined)?.fieldErrors;
    if (fields && (fields.email || fields.password)) {
      setServerErrors({ email: fields.email?.[0], password: fields.password?.[0] });
    } else {
      setFormError(error.message);
    }
  };
  const login = api.auth.login.useMutation({ onSuccess, onError });
  const register = api.auth.register.useMutation({ onSuccess, onError });
  const pending = login.isPending || register.isPending;

  const errorFor = (field: Field) => serverErrors[field] ?? (touched[field] ? validate(mode, field, values[field]) : undefined);

  const update = (field: Field, value: string) => {
    setValues((v) => ({ ...v, [field]: value }));
    setServerErrors((e) => ({ ...e, [field]: undefined }));
    setFormError(undefined);
  };

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    setTouched({ email: true, password: true });
    if (validate(mode, "email", values.email) || validate(mode, "password", values.password)) return;
    setFormError(undefined);
    (mode === "login" ? login : register).mutate(values);
  };

  if (approval) {
    return <ApprovalWaiting requestId={approval.requestId} code={approval.code} expiresAt={approval.expiresAt} next={next} onRestart={() => setApproval(null)} />;
  }

  const emailError = errorFor("email");
  const passwordError = errorFor("password");

  return (
    <div>
      <form noValidate onSubmit={submit} className="space-y-4 rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6" aria-describedby={formError ? `${id}-form-error` : undefined}>
        {formError && (
          <div id={`${id}-form-error`} role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
            {formError}
          </div>
        )}
        <div>
          <label htmlFor={`${id}-email`} className="block text-sm font-medium text-slate-800">
            Email
          </label>
          <input
            id={`${id}-email`}
            name="email"
            type="email"
            inputMode="email"
            autoComplete={mode === "login" ? "username" : "email"}
            autoCapitalize="none"
            spellCheck={false}
            value={values.email}
            onChange={(e) => update("email", e.target.value)}
            onBlur={() => setTouched((t) => ({ ...t, email: true }))}
            aria-invalid={emailError ? true : undefined}
            aria-describedby={emailError ? `${id}-email-error` : undefined}
            className="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-base shadow-xs placeholder:text-slate-400 focus:border-brand-500 focus:outline-none aria-invalid:border-red-500"
            placeholder="you@example.com"
          />
          {emailError && (
            <p id={`${id}-email-error`} className="mt-1 text-sm text-red-700">
              {emailError}
            </p>
          )}
        </div>
        <div>
          <div className="flex items-center justify-between">
            <label htmlFor={`${id}-password`} className="block text-sm font-medium text-slate-800">
              Password
            </label>
            <button type="button" onClick={() => setShowPassword((s) => !s)} className="text-xs font-medium text-brand-700 hover:underline" aria-controls={`${id}-password`}>
              {showPassword ? "Hide" : "Show"}
            </button>
          </div>
          <input
            id={`${id}-password`}
            name="password"
            type={showPassword ? "text" : "password"}
            autoComplete={mode === "login" ? "current-password" : "new-password"}
            value={values.password}
            onChange={(e) => update("password", e.target.value)}
            onBlur={() => setTouched((t) => ({ ...t, password: true }))}
            aria-invalid={passwordError ? true : undefined}
            aria-describedby={passwordError ? `${id}-password-error` : undefined}
            className="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-base shadow-xs focus:border-brand-500 focus:outline-none aria-invalid:border-red-500"
          />
          {passwordError && (
            <p id={`${id}-password-error`} className="mt-1 text-sm text-red-700">
              {passwordError}
            </p>
          )}
        </div>
        <button
          type="submit"
          disabled={pending}
          className="w-full rounded-lg bg-brand-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-brand-700 disabled:cursor-wait disabled:opacity-70"
        >
          {pending ? text.busy : text.action}
        </button>
      </form>
      <p className="mt-4 text-center text-sm text-slate-600">
        {text.switchText}{" "}
        <Link href={next === "/dashboard" ? text.switchHref : `${text.switchHref}?next=${encodeURIComponent(next)}`} className="font-medium text-brand-700 hover:underline">
          {text.switchLink}
        </Link>
      </p>
    </div>
  );
}
