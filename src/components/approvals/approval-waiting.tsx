"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import type { ApprovalStatus } from "~/lib/live-events";
import { api } from "~/trpc/react";

/** The states after which this request can no longer sign the device in. */
const ENDED: ReadonlySet<ApprovalStatus> = new Set(["denied", "failed", "cancelled", "expired"]);

/** On the new device: the code to type on a signed-in device, then the session once approved. */
export function ApprovalWaiting({
  requestId,
  code,
  expiresAt,
  next,
  onRestart,
}: {
  requestId: string;
  code: string;
  expiresAt: Date;
  next: string;
  onRestart: () => void;
}) {
  const router = useRouter();
  const [status, setStatus] = useState<ApprovalStatus>("pending");
  const [now, setNow] = useState(() => Date.now());
  // The stream itself refused (e.g. too many open pages): this page would never learn the outcome.
  const [watchError, setWatchError] = useState<string | null>(null);
  const completing = useRef(false);
  const complete = api.approvals.complete.useMutation({ onSuccess: () => router.replace(next) });

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  api.approvals.watch.useSubscription(
    { requestId },
    {
      onData(state) {
        setWatchError(null);
        setStatus(state.status);
        if (state.status === "approved" && !completing.current) {
          completing.current = true;
          complete.mutate({ requestId });
        }
      },
      onError: (error) => setWatchError(error.message),
    },
  );

  const seconds = Math.max(0, Math.round((expiresAt.getTime() - now) / 1000));
  const ended = ENDED.has(status) || seconds === 0;
  return (
    <div className="space-y-5 rounded-2xl border border-slate-200 bg-white p-5 text-center shadow-sm sm:p-6" data-testid="approval-waiting">
      {ended ? (
        // A dead code must not look usable: the failure replaces it.
        <p className="text-lg font-semibold text-slate-900" data-testid="approval-ended">
          This code no longer works
        </p>
      ) : (
        <>
          <p className="text-sm font-medium text-slate-900">Approve this sign-in from a device where you are signed in</p>
          <p
            className="font-mono text-4xl font-semibold tracking-[0.3em] text-slate-900 sm:text-5xl"
            aria-label={`Code ${code.split("").join(" ")}`}
            data-testid="approval-code"
          >
            {code}
          </p>
          <p className="text-sm text-slate-600">Enter this code on one of your signed-in devices. It asks for it by itself.</p>
        </>
      )}
      <div role="status" aria-live="polite" className="text-sm text-slate-700" data-testid="approval-status">
        {status === "pending" && !ended && `Waiting for approval… (${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")})`}
        {(status === "approved" || status === "completed") && "Approved. Signing you in…"}
        {status === "denied" && "This sign-in was denied on your other device."}
        {status === "failed" && "Too many wrong codes were entered. Sign in again to get a new code."}
        {status === "cancelled" && "This request was cancelled."}
        {(status === "expired" || (status === "pending" && seconds === 0)) && "The code expired. Sign in again to get a new one."}
      </div>
      {(complete.error ?? watchError) && (
        <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
          {complete.error?.message ?? watchError}
        </p>
      )}
      {(ended || complete.error) && (
        <button type="button" onClick={onRestart} className="rounded-lg bg-brand-600 px-4 py-2 text-sm font-semibold text-white hover:bg-brand-700">
          Back to sign in
        </button>
      )}
      <p className="border-t border-slate-100 pt-4 text-sm text-slate-600">
        Lost your other device?{" "}
        <Link href="/forgot" className="font-medium text-brand-700 hover:underline">
          Reset your password by email
        </Link>
        : it signs out every device, so this one can then sign in as the first.
      </p>
    </div>
  );
}
