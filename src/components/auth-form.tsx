"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useId, useState } from "react";
import { emailInput, newPasswordInput, passwordInput } from "~/lib/credentials";
import type { ErrorReason } from "~/server/platform/errors";
import { api, type RouterOutputs } from "~/trpc/react";
import { ApprovalWaiting } from "./approvals/approval-waiting";
import { PasskeySignIn } from "./passkeys/passkey-sign-in";
import { PasswordField } from "./password-field";
import { SecondFactorForm } from "./second-factor-form";

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
export function AuthForm({
  mode,
  next = "/dashboard",
  initialError,
}: {
  mode: Mode;
  next?: string;
  /** From a form post without JavaScript (?error=). */ initialError?: string;
}) {
  const router = useRouter();
  const id = useId();
  const text = copy[mode];
  const [values, setValues] = useState({ email: "", password: "" });
  const [touched, setTouched] = useState<Record<Field, boolean>>({ email: false, password: false });
  const [serverErrors, setServerErrors] = useState<Partial<Record<Field, string>>>({});
  const [formError, setFormError] = useState<string | undefined>(initialError);

  const [approval, setApproval] = useState<Extract<RouterOutputs["auth"]["login"], { status: "approval_required" }> | null>(null);
  const [challenge, setChallenge] = useState<Extract<RouterOutputs["auth"]["login"], { status: "second_factor_required" }> | null>(null);
  const onSuccess = (result: { status?: string } & Partial<RouterOutputs["auth"]["login"]>) => {
    if (result.status === "second_factor_required") setChallenge(result as Extract<RouterOutputs["auth"]["login"], { status: "second_factor_required" }>);
    else if (result.status === "approval_required") setApproval(result as Extract<RouterOutputs["auth"]["login"], { status: "approval_required" }>);
    else router.replace(next);
  };
  const onError = (error: { message: string; data?: unknown }) => {
    const data = error.data as { reason?: ErrorReason; fieldErrors?: Record<string, string[] | undefined> } | null | undefined;
    const fields = data?.reason === "invalid_input" ? data.fieldErrors : undefined;
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
    return (
      <ApprovalWaiting requestId={approval.requestId} code={approval.code} expiresAt={approval.expiresAt} next={next} onRestart={() => setApproval(null)} />
    );
  }

  if (challenge) {
    return (
      <SecondFactorForm
        challengeId={challenge.challengeId}
        next={next}
        onRestart={() => {
          setChallenge(null);
          setValues((v) => ({ ...v, password: "" }));
        }}
      />
    );
  }

  const emailError = errorFor("email");
  const passwordError = errorFor("password");

  return (
    <div>
      {/* Without JavaScript (or before it loads) the browser posts the form to a route handler that
          answers with a redirect: credentials never end up in a URL. */}
      <form
        method="post"
        action={`/api/form/${mode}`}
        noValidate
        onSubmit={submit}
        className="space-y-4 rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6"
        aria-describedby={formError ? `${id}-form-error` : undefined}
      >
        <input type="hidden" name="next" value={next} />
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
            // "webauthn": the browser may offer the account's passkeys in this field's autofill (conditional UI).
            autoComplete={mode === "login" ? "username webauthn" : "email"}
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
        <PasswordField
          label="Password"
          name="password"
          revealable
          autoComplete={mode === "login" ? "current-password" : "new-password"}
          value={values.password}
          onChange={(value) => update("password", value)}
          onBlur={() => setTouched((t) => ({ ...t, password: true }))}
          error={passwordError}
        />
        <button
          type="submit"
          disabled={pending}
          className="w-full rounded-lg bg-brand-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-brand-700 disabled:cursor-wait disabled:opacity-70"
        >
          {pending ? text.busy : text.action}
        </button>
      </form>
      {mode === "login" && <PasskeySignIn next={next} onError={setFormError} />}
      {/* After the form, so Tab still goes Email → Password → Show → Sign in. */}
      {mode === "login" && (
        <p className="mt-3 text-center text-sm">
          <Link href="/forgot" className="font-medium text-brand-700 hover:underline">
            Forgot password?
          </Link>
        </p>
      )}
      <p className="mt-4 text-center text-sm text-slate-600">
        {text.switchText}{" "}
        <Link
          href={next === "/dashboard" ? text.switchHref : `${text.switchHref}?next=${encodeURIComponent(next)}`}
          className="font-medium text-brand-700 hover:underline"
        >
          {text.switchLink}
        </Link>
      </p>
    </div>
  );
}
