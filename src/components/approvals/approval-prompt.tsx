"use client";

import { useId, useState } from "react";
import { PartyCard } from "~/components/handoff/party-card";
import { Modal } from "~/components/modal";
import { api } from "~/trpc/react";
import { DecisionButtons } from "~/components/decision-buttons";

/**
 * On a signed-in device: a new device asks to sign in. Pops up by itself (the dashboard's live
 * feed refetches approvals.pending) and asks for the code the new device shows.
 */
export function ApprovalPrompt() {
  const id = useId();
  const utils = api.useUtils();
  const pending = api.approvals.pending.useQuery();
  const [dismissed, setDismissed] = useState<string[]>([]);
  const [code, setCode] = useState("");
  const request = pending.data?.find((r) => !dismissed.includes(r.requestId));
  const done = () => {
    setCode("");
    void utils.approvals.pending.invalidate();
  };
  const confirm = api.approvals.confirm.useMutation({ onSuccess: done, onError: () => void utils.approvals.pending.invalidate() });
  const deny = api.approvals.deny.useMutation({ onSuccess: done });

  if (!request) return null;
  const error = confirm.error ?? deny.error;
  return (
    <Modal open title="New sign-in to approve" onClose={() => setDismissed((d) => [...d, request.requestId])} testId="approval-prompt">
      <p className="text-sm text-slate-700">Someone entered your password on a new device. If it is you, type the code that device shows.</p>
      <PartyCard party={{ ...request.device, ip: request.ip, location: request.location }} since={request.createdAt} testId="approval-device" />
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
