"use client";

import { useId, useState } from "react";
import { isNameGivenByDevice, PartyCard } from "~/components/handoff/party-card";
import { Modal } from "~/components/modal";
import { api, type RouterOutputs } from "~/trpc/react";
import { DecisionButtons } from "~/components/decision-buttons";
import { SignOutWarning, type WouldSignOut } from "./sign-out-warning";

export type PendingApproval = RouterOutputs["approvals"]["pending"][number];

export const TOO_MANY_WRONG_CODES = "Too many wrong codes: that sign-in request was cancelled.";

interface PromptProps {
  request: PendingApproval;
  /** The session approving would end (evict-oldest at the cap), and the cap, to say so first. */
  wouldSignOut: WouldSignOut | null;
  limit?: number;
  /** Escape or Close: the dashboard keeps a notice with "Review" to reopen it. */
  onClose: (requestId: string) => void;
  /** Approved or denied here. */
  onSettled: (requestId: string) => void;
  /** The request died while being answered (the last wrong code, expiry, another device): why. */
  onEnded: (message: string) => void;
}

/**
 * On a signed-in device: a new device asks to sign in. The dashboard opens it for each pending
 * request; it asks for the code the new device shows. Its state belongs to one request: a new
 * request gets a fresh prompt (no code or error carried over).
 */
export function ApprovalPrompt({ request, ...props }: Omit<PromptProps, "request"> & { request: PendingApproval | undefined }) {
  if (!request) return null;
  return <RequestPrompt key={request.requestId} request={request} {...props} />;
}

function RequestPrompt({ request, wouldSignOut, limit, onClose, onSettled, onEnded }: PromptProps) {
  const id = useId();
  const utils = api.useUtils();
  const [code, setCode] = useState("");

  /** After a refused answer: when the request is gone from the pending list, it has ended. */
  const checkStillPending = async (message: string) => {
    await utils.approvals.pending.invalidate();
    if (!utils.approvals.pending.getData()?.some((r) => r.requestId === request.requestId)) onEnded(message);
  };
  const settled = () => {
    onSettled(request.requestId);
    void utils.approvals.pending.invalidate();
  };
  const confirm = api.approvals.confirm.useMutation({
    onSuccess: settled,
    // The server blocks the request on the last allowed wrong code: say so, not just close.
    onError: (error) => void checkStillPending(error.data?.reason === "too_many_wrong_codes" ? TOO_MANY_WRONG_CODES : error.message),
  });
  const deny = api.approvals.deny.useMutation({ onSuccess: settled, onError: (error) => void checkStillPending(error.message) });

  const error = confirm.error ?? deny.error;
  const party = {
    ...request.device,
    nameGivenByDevice: isNameGivenByDevice(request, request.device),
    ip: request.ip,
    location: request.location,
  };
  return (
    <Modal open title="New sign-in to approve" onClose={() => onClose(request.requestId)} testId="approval-prompt">
      <p className="text-sm text-slate-700">Someone entered your password on a new device. If it is you, type the code that device shows.</p>
      <PartyCard party={party} since={request.createdAt} testId="approval-device" />
      <SignOutWarning who={wouldSignOut} limit={limit} />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          confirm.mutate({ requestId: request.requestId, code });
        }}
        className="space-y-3"
      >
        <div>
          <label htmlFor={`${id}-code`} className="block text-sm font-medium text-slate-800">
            Code shown on the new device
          </label>
          <input
            id={`${id}-code`}
            value={code}
            onChange={(e) => {
              setCode(e.target.value.replace(/\D/g, "").slice(0, 6));
              confirm.reset();
            }}
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="\d{6}"
            maxLength={6}
            autoFocus
            aria-invalid={confirm.error ? true : undefined}
            aria-describedby={error ? `${id}-error` : undefined}
            className="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-center font-mono text-2xl tracking-[0.4em] focus:border-brand-500 focus:outline-none"
          />
        </div>
        {error && (
          <p id={`${id}-error`} role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
            {error.message}
          </p>
        )}
        <DecisionButtons
          onDeny={() => deny.mutate({ requestId: request.requestId })}
          denyDisabled={deny.isPending || confirm.isPending}
          approveDisabled={code.length !== 6 || confirm.isPending}
          approveLabel={confirm.isPending ? "Checking…" : "Approve"}
        />
      </form>
    </Modal>
  );
}
