"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useId, useState } from "react";
import type { ErrorReason } from "~/server/platform/errors";
import { api, type RouterOutputs } from "~/trpc/react";
import { ApprovalWaiting } from "./approvals/approval-waiting";

type Approval = Extract<RouterOutputs["auth"]["verifySecondFactor"], { status: "approval_required" }>;

/**
 * The second step of a sign-in with two-factor on: a 6-digit code from the authenticator app, or
 * (toggle) a recovery code. Without JavaScript the form posts to /api/form/second-factor, which
 * answers with a redirect, like the sign-in form.
 */
export function SecondFactorForm({
  challengeId,
  next = "/dashboard",
  initialError,
  onRestart,
}: {
  challengeId: string;
  next?: string;
  initialError?: string;
  /** Back to the password step (the JavaScript form); without it, a link to /login. */
  onRestart?: () => void;
}) {
  const router = useRouter();
  const id = useId();
  const [recovery, setRecovery] = useState(false);
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | undefined>(initialError);
  const [expired, setExpired] = useState(false);
  const [approval, setApproval] = useState<Approval | null>(null);
  const verify = api.auth.verifySecondFactor.useMutation({
    onSuccess: (result) => {
      if (result.status === "approval_required") setApproval(result);
      else router.replace(next);
    },
    onError: (e) => {
      const reason = (e.data as { reason?: ErrorReason } | null | undefined)?.reason;
      if (reason === "second_factor_invalid") setExpired(true);
      setError(e.message);
      setCode("");
    },
  });

  if (approval) {
    return (
      <ApprovalWaiting
        requestId={approval.requestId}
        code={approval.code}
        expiresAt={approval.expiresAt}
        next={next}
        onRestart={onRestart ?? (() => router.replace("/login"))}
      />
    );
  }

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const typed = code.trim();
    if (!typed) {
      setError(recovery ? "Enter one of your recovery codes." : "Enter the 6-digit code from your authenticator app.");
      return;
    }
    setError(undefined);
    verify.mutate({ challengeId, code: typed });
  };

  const restart = (label: string) =>
    onRestart ? (
      <button type="button" onClick={onRestart} className="font-medium text-brand-700 hover:underline">
        {label}
      </button>
    ) : (
      <Link href={next === "/dashboard" ? "/login" : `/login?next=${encodeURIComponent(next)}`} className="font-medium text-brand-700 hover:underline">
        {label}
      </Link>
    );

  return (
    <div>
      <form
        method="post"
        action="/api/form/second-factor"
        noValidate
        onSubmit={submit}
        className="space-y-4 rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6"
        aria-labelledby={`${id}-title`}
      >
        <input type="hidden" name="challengeId" value={challengeId} />
        <input type="hidden" name="next" value={next} />
        <div>
          <h2 id={`${id}-title`} className="text-lg font-semibold text-slate-900">
            Two-factor authentication
          </h2>
          <p className="mt-1 text-sm text-slate-600">
            {recovery
              ? "Enter one of the recovery codes you saved when you turned two-factor on. Each works once."
              : "Enter the 6-digit code from your authenticator app."}
          </p>
          <noscript>
            <p className="mt-1 text-sm text-slate-600">Or enter one of your recovery codes in the same field.</p>
          </noscript>
        </div>
        {error && (
          <div id={`${id}-error`} role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
            {error} {expired && restart("Sign in again")}
          </div>
        )}
        <div>
          <label htmlFor={`${id}-code`} className="block text-sm font-medium text-slate-800">
            {recovery ? "Recovery code" : "Authentication code"}
          </label>
          <input
            key={recovery ? "recovery" : "totp"}
            id={`${id}-code`}
            name="code"
            type="text"
            inputMode={recovery ? "text" : "numeric"}
            autoComplete={recovery ? "off" : "one-time-code"}
            pattern={recovery ? undefined : "[0-9]*"}
            maxLength={32}
            autoCapitalize="none"
            spellCheck={false}
            autoFocus
            value={code}
            onChange={(e) => {
              setCode(e.target.value);
              setError(undefined);
            }}
            aria-invalid={error && !expired ? true : undefined}
            aria-describedby={error ? `${id}-error` : undefined}
            placeholder={recovery ? "xxxxx-xxxxx" : "123456"}
            className="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 font-mono text-lg tracking-widest shadow-xs placeholder:text-slate-400 focus:border-brand-500 focus:outline-none aria-invalid:border-red-500"
          />
        </div>
        <button
          type="submit"
          disabled={verify.isPending || expired}
          className="w-full rounded-lg bg-brand-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-brand-700 disabled:cursor-not-allowed disabled:opacity-70"
        >
          {verify.isPending ? "Checking…" : "Verify"}
        </button>
      </form>
      <p className="mt-3 text-center text-sm">
        <button
          type="button"
          onClick={() => {
            setRecovery((r) => !r);
            setCode("");
            setError(undefined);
          }}
          className="font-medium text-brand-700 hover:underline"
        >
          {recovery ? "Use your authenticator app" : "Use a recovery code"}
        </button>
      </p>
      <p className="mt-2 text-center text-sm">{restart("Back to sign-in")}</p>
    </div>
  );
}
