"use client";

import { skipToken } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { useOnce } from "~/lib/use-once";
import { api } from "~/trpc/react";

/** Flow B on the device that scanned an offer: claim it, wait for approval, collect the session. */
export function ClaimOffer({ token }: { token: string }) {
  const router = useRouter();
  const claim = api.handoff.claim.useMutation();
  const complete = api.handoff.complete.useMutation({ onSuccess: () => router.replace("/dashboard") });
  const [status, setStatus] = useState<string | null>(null);
  const [watchError, setWatchError] = useState<string | null>(null);
  const completing = useRef(false);
  useOnce(() => claim.mutate({ token }));

  const id = claim.data?.id;
  api.handoff.watch.useSubscription(id ? { id } : skipToken, {
    onData(state) {
      setWatchError(null);
      const s = (state as { status: string }).status;
      setStatus(s);
      if (s === "approved" && id && !completing.current) {
        completing.current = true;
        complete.mutate({ id });
      }
    },
    onError: (error) => setWatchError(error.message),
  });

  const error = claim.error ?? complete.error;
  const current = status ?? claim.data?.status;
  return (
    <div className="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6" data-testid="claim-offer">
      {claim.isPending && <p className="text-sm text-slate-600">Connecting to your other device…</p>}
      {!error && claim.data && (
        <div role="status" aria-live="polite" className="space-y-2 text-sm" data-testid="claim-status">
          {(current === "scanned" || current === "pending") && (
            <>
              <p className="font-medium text-slate-900">Waiting for approval on your other device</p>
              <p className="text-slate-600">
                {claim.data.owner ? `Approve this device on ${claim.data.owner.name}.` : "Approve this device there."} This device shows up there as{" "}
                <strong>{claim.data.recipient?.name}</strong> ({claim.data.recipient?.location}).
              </p>
            </>
          )}
          {(current === "approved" || current === "completed") && <p className="font-medium text-slate-900">Approved. Signing you in…</p>}
          {current === "denied" && <p className="font-medium text-slate-900">Your other device denied this request.</p>}
          {(current === "expired" || current === "cancelled") && <p className="font-medium text-slate-900">This request is no longer valid.</p>}
        </div>
      )}
      {(error ?? watchError) && (
        <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
          {error?.message ?? watchError}
        </p>
      )}
      {(error || (current && ["denied", "expired", "cancelled"].includes(current))) && (
        <p className="mt-3 text-sm">
          <Link href="/scan" className="font-medium text-brand-700 hover:underline">
            Scan a new code
          </Link>{" "}
          or{" "}
          <Link href="/login" className="font-medium text-brand-700 hover:underline">
            sign in with a password
          </Link>
        </p>
      )}
    </div>
  );
}
