"use client";

import Link from "next/link";
import { isReauthRequired, useReauth } from "~/components/reauth";
import { useOnce } from "~/lib/use-once";
import { api } from "~/trpc/react";
import { pickWouldSignOut, SignOutWarning } from "~/components/approvals/sign-out-warning";
import { isNameGivenByDevice, PartyCard } from "./party-card";
import { DecisionButtons } from "~/components/decision-buttons";

/** Flow A on the signed-in phone: who is asking to sign in, then Approve or Deny. */
export function ApproveRequest({ token }: { token: string }) {
  const inspect = api.handoff.inspect.useMutation();
  const approve = api.handoff.approve.useMutation();
  const deny = api.handoff.deny.useMutation();
  const reauth = useReauth();
  const cap = api.sessions.cap.useQuery();
  useOnce(() => inspect.mutate({ token }));

  const request = inspect.data;
  const decided = approve.data ?? deny.data;
  // Asked for the password again: not the end of the request, the form asks inline.
  const error = inspect.error ?? (isReauthRequired(approve.error) ? null : approve.error) ?? deny.error;
  const approveNow = () => void reauth.run(() => approve.mutateAsync({ token }));

  return (
    <div className="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6" data-testid="approve-request">
      {inspect.isPending && <p className="text-sm text-slate-600">Looking up the request…</p>}
      {error && (
        <div className="space-y-3">
          <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
            {error.message}
          </p>
          <Link href="/scan" className="inline-block text-sm font-medium text-brand-700 hover:underline">
            Scan another code
          </Link>
        </div>
      )}
      {request?.recipient && !decided && !error && (
        <div className="space-y-4">
          <p className="text-sm text-slate-700">This device is asking to be signed in to your account. Approve only if it is yours and in front of you.</p>
          <PartyCard
            party={{ ...request.recipient, nameGivenByDevice: isNameGivenByDevice(request.recipient) }}
            since={request.createdAt}
            warnings={request.warnings}
            testId="requesting-device"
          />
          <SignOutWarning who={pickWouldSignOut(request, cap.data)} limit={cap.data?.limit} />
          {reauth.needed && (
            <form
              className="space-y-2"
              onSubmit={(e) => {
                e.preventDefault();
                approveNow();
              }}
            >
              <p className="text-sm text-slate-700">{approve.error?.message}</p>
              {reauth.field}
              {reauth.error && (
                <p role="alert" className="text-sm text-red-700">
                  {reauth.error}
                </p>
              )}
            </form>
          )}
          <DecisionButtons
            onDeny={() => deny.mutate({ token })}
            denyDisabled={deny.isPending || approve.isPending}
            onApprove={approveNow}
            approveDisabled={deny.isPending || approve.isPending || reauth.busy}
            approveLabel={approve.isPending || reauth.busy ? "Approving…" : "Approve sign-in"}
          />
        </div>
      )}
      {decided && (
        <div role="status" className="space-y-3">
          <p className="text-sm font-medium text-slate-900">
            {decided.status === "approved" ? "Approved. The other device is signing in now." : "Denied. The other device was not signed in."}
          </p>
          <Link href="/dashboard" className="inline-block text-sm font-medium text-brand-700 hover:underline">
            Back to your devices
          </Link>
        </div>
      )}
    </div>
  );
}
