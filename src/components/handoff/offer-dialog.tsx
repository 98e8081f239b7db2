"use client";

import { skipToken } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Modal } from "~/components/modal";
import { useReauth } from "~/components/reauth";
import { api, type RouterOutputs } from "~/trpc/react";
import { pickWouldSignOut, SignOutWarning } from "~/components/approvals/sign-out-warning";
import { PartyCard, type PartyView, type Warning } from "./party-card";
import { HandoffQr } from "./qr-code";
import { DecisionButtons } from "~/components/decision-buttons";

type Offer = RouterOutputs["handoff"]["offer"];
type State = { status: string; recipient?: PartyView | null; warnings?: Warning[] };

/** Flow B on the signed-in device: show a QR, see who scanned it, approve or deny. */
export function OfferDialog({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: () => void }) {
  const [offer, setOffer] = useState<Offer | null>(null);
  const [state, setState] = useState<State>({ status: "pending" });
  const [watchError, setWatchError] = useState<string | null>(null);
  const create = api.handoff.offer.useMutation({
    onSuccess: (data) => {
      setState({ status: "pending" });
      setOffer(data);
    },
  });
  const approve = api.handoff.approve.useMutation();
  const reauth = useReauth();
  const deny = api.handoff.deny.useMutation();
  const cap = api.sessions.cap.useQuery(undefined, { enabled: open });
  const createOffer = create.mutate;

  const resetApprove = approve.reset;
  const resetDeny = deny.reset;
  // A fresh code each time the dialog opens.
  useEffect(() => {
    if (open) {
      setWatchError(null);
      resetApprove();
      resetDeny();
      createOffer();
    } else {
      setOffer(null);
    }
  }, [open, createOffer, resetApprove, resetDeny]);

  api.handoff.watch.useSubscription(open && offer ? { id: offer.id } : skipToken, {
    onData(data) {
      setWatchError(null);
      const next = data as State;
      setState(next);
      if (next.status === "completed") onDone();
    },
    onError: (error) => setWatchError(error.message),
  });

  const token = offer?.qrUrl.split("/").pop() ?? "";
  const { status } = state;
  const error = create.error ?? approve.error ?? deny.error;
  const approveNow = () => void reauth.run(() => approve.mutateAsync({ token }));

  return (
    <Modal open={open} title="Add a device" onClose={onClose} testId="offer-dialog">
      {offer && status === "pending" && (
        <>
          <p className="text-sm text-slate-700">
            On the other device, open <strong>{new URL(offer.qrUrl).host}/scan</strong> and point its camera at this code. You will approve it here.
          </p>
          <HandoffQr url={offer.qrUrl} expiresAt={offer.expiresAt} label="QR code to continue on another device" />
        </>
      )}
      {status === "scanned" && state.recipient && (
        <div className="space-y-4">
          <p className="text-sm text-slate-700">This device scanned your code and wants to be signed in as you:</p>
          <PartyCard party={state.recipient} warnings={state.warnings} testId="claiming-device" />
          <SignOutWarning who={pickWouldSignOut(state, cap.data)} limit={cap.data?.limit} />
          {reauth.needed && (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                approveNow();
              }}
            >
              {reauth.field}
            </form>
          )}
          <DecisionButtons
            onDeny={() => deny.mutate({ token })}
            denyDisabled={approve.isPending || deny.isPending}
            onApprove={approveNow}
            approveDisabled={approve.isPending || deny.isPending || reauth.busy}
            approveLabel="Approve"
          />
        </div>
      )}
      <div role="status" aria-live="polite" className="text-sm text-slate-700" data-testid="offer-status">
        {status === "approved" && "Approved. The other device is signing in…"}
        {status === "completed" && "Done: the other device is signed in."}
        {status === "denied" && "Denied. The other device was not signed in."}
        {(status === "expired" || status === "cancelled") && "This code is no longer valid."}
      </div>
      {(reauth.error ?? error ?? watchError) && (
        <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
          {reauth.error ?? error?.message ?? watchError}
        </p>
      )}
      <div className="flex justify-end gap-2">
        {["denied", "expired", "cancelled"].includes(status) && (
          <button type="button" onClick={() => createOffer()} className="rounded-lg bg-brand-600 px-4 py-2 text-sm font-semibold text-white hover:bg-brand-700">
            New code
          </button>
        )}
        <button
          type="button"
          onClick={onClose}
          className="rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-800 hover:bg-slate-50"
        >
          {status === "completed" ? "Done" : "Close"}
        </button>
      </div>
    </Modal>
  );
}
