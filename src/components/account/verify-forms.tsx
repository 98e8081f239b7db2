"use client";

import Link from "next/link";
import { useActionState } from "react";
import { verifyEmailAction, type FormState } from "~/app/account-actions";
import { cardClass } from "~/components/account/reset-forms";
import { api } from "~/trpc/react";

const idle: FormState = { status: "idle" };

/** /verify/<token>: one button uses the link. */
export function VerifyForm({ token, kind, sentTo }: { token: string; kind: "verify" | "email_change"; sentTo: string }) {
  const [state, action, pending] = useActionState(verifyEmailAction, idle);
  if (state.status === "done") {
    return (
      <div role="status" className={cardClass} data-testid="verify-done">
        <p className="text-sm text-slate-800">{state.message}</p>
        <Link href="/dashboard" className="inline-block rounded-lg bg-brand-600 px-4 py-2 text-sm font-semibold text-white hover:bg-brand-700">
          Go to your dashboard
        </Link>
      </div>
    );
  }
  return (
    <form action={action} className={cardClass}>
      <input type="hidden" name="token" value={token} />
      {state.status === "error" && (
        <div role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
          {state.message}
        </div>
      )}
      <p className="text-sm text-slate-800">
        {kind === "email_change" ? "Use this address for your account from now on: " : "Confirm that this address is yours: "}
        <strong className="font-semibold wrap-anywhere">{sentTo}</strong>
      </p>
      <button
        type="submit"
        disabled={pending}
        className="w-full rounded-lg bg-brand-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-brand-700 disabled:cursor-wait disabled:opacity-70"
      >
        {pending ? "Confirming…" : kind === "email_change" ? "Switch to this address" : "Verify my address"}
      </button>
    </form>
  );
}

/** A button that mails a new verification link, and says what happened. */
export function ResendVerification({ className = "" }: { className?: string }) {
  const resend = api.account.resendVerification.useMutation();
  return (
    <span className={`inline-flex flex-wrap items-center gap-x-3 gap-y-1 ${className}`}>
      <button
        type="button"
        onClick={() => resend.mutate()}
        disabled={resend.isPending}
        className="rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 shadow-xs hover:bg-slate-50 disabled:cursor-wait disabled:opacity-70"
      >
        {resend.isPending ? "Sending…" : "Send a new link"}
      </button>
      {/* Only once there is something to say: the dashboard's notices are its one standing status region. */}
      {(resend.data ?? resend.error) && (
        <span role="status" className="text-sm">
          {resend.data &&
            (resend.data.alreadyVerified ? "Your address is verified already." : `Sent to ${resend.data.sentTo}. The previous link no longer works.`)}
          {resend.error && <span className="text-red-800">{resend.error.message}</span>}
        </span>
      )}
    </span>
  );
}

/** The dashboard's banner until the address is verified. */
export function VerifyBanner({ email }: { email: string }) {
  return (
    <div
      role="region"
      aria-label="Verify your email address"
      className="rounded-xl border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900"
      data-testid="verify-banner"
    >
      <p>
        <strong className="font-semibold">Verify your email address.</strong> We sent a link to <span className="font-medium wrap-anywhere">{email}</span>, so
        security alerts and password resets reach you. Open it to confirm the address is yours.
      </p>
      <ResendVerification className="mt-2" />
    </div>
  );
}
