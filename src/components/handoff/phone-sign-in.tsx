"use client";

import { skipToken } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useRef, useState } from "react";
import { useOnce } from "~/lib/use-once";
import { api, type RouterOutputs } from "~/trpc/react";
import { HandoffQr } from "./qr-code";

type Started = RouterOutputs["handoff"]["start"];
type WatchState = { status: string };

const REFRESH_BEFORE_EXPIRY_MS = 10_000;

/** Flow A on the new device: show a QR, wait for the phone to approve, then collect the session. */
export function PhoneSignIn({ next }: { next: string }) {
  const router = useRouter();
  const [request, setRequest] = useState<Started | null>(null);
  const [status, setStatus] = useState<string>("pending");
  const [watchError, setWatchError] = useState<string | null>(null);
  const completing = useRef(false);

  const start = api.handoff.start.useMutation({
    onSuccess: (data) => {
      completing.current = false;
      setStatus("pending");
      setRequest(data);
    },
  });
  const complete = api.handoff.complete.useMutation({ onSuccess: () => router.replace(next) });
  const startCode = start.mutate;
  const startNew = useCallback(() => startCode(), [startCode]);

  useOnce(startNew);

  // A fresh code shortly before this one expires, unless the phone is already on it.
  useEffect(() => {
    if (!request || status !== "pending") return;
    const wait = request.expiresAt.getTime() - Date.now() - REFRESH_BEFORE_EXPIRY_MS;
    const timer = setTimeout(startNew, Math.max(wait, 1_000));
    return () => clearTimeout(timer);
  }, [request, status, startNew]);

  api.handoff.watch.useSubscription(request ? { id: request.id } : skipToken, {
    onData(state) {
      setWatchError(null);
      const s = (state as WatchState).status;
      setStatus(s);
      if (s === "approved" && request && !completing.current) {
        completing.current = true;
        complete.mutate({ id: request.id });
      }
      if (s === "expired") startNew();
    },
    onError: (error) => setWatchError(error.message),
  });

  const rateLimited = start.error?.data?.reason === "rate_limited";
  return (
    <div className="space-y-5 text-center" data-testid="phone-sign-in">
      {request && !["denied", "cancelled"].includes(status) ? (
        <HandoffQr url={request.qrUrl} expiresAt={request.expiresAt} label="QR code to sign in with your phone" />
      ) : (
        <div className="mx-auto grid h-[258px] w-[258px] place-items-center rounded-2xl bg-slate-100 text-sm text-slate-500">
          {start.isPending ? "Making a code…" : "No code"}
        </div>
      )}
      <div role="status" aria-live="polite" className="min-h-12 text-sm text-slate-700" data-testid="phone-sign-in-status">
        {status === "pending" && (
          <>
            On your phone, open <strong>Handoff → Scan a code</strong> while signed in, and point the camera at this code.
          </>
        )}
        {status === "scanned" && <>Scanned. Check your phone and approve this sign-in there.</>}
        {status === "approved" && <>Approved. Signing you in…</>}
        {status === "completed" && <>Signed in.</>}
        {status === "denied" && <>The sign-in was denied on your phone.</>}
        {status === "cancelled" && <>This request was cancelled.</>}
      </div>
      {(start.error ?? complete.error ?? watchError) && (
        <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
          {(start.error ?? complete.error)?.message ?? watchError}
        </p>
      )}
      {(["denied", "cancelled"].includes(status) || (start.error && !rateLimited) || complete.error) && (
        <button type="button" onClick={startNew} className="rounded-lg bg-brand-600 px-4 py-2 text-sm font-semibold text-white hover:bg-brand-700">
          Show a new code
        </button>
      )}
    </div>
  );
}
