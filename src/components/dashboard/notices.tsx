"use client";

import { useId } from "react";
import type { PendingApproval } from "~/components/approvals/approval-prompt";
import { DeviceName, isNameGivenByDevice } from "~/components/handoff/party-card";

export interface SignInNotice {
  sessionId: string;
  deviceName: string;
  location: string;
  ip: string;
}

function Notice({
  children,
  onDismiss,
  action,
  testId,
}: {
  children: React.ReactNode;
  onDismiss: () => void;
  action?: (describedBy: string) => React.ReactNode;
  testId: string;
}) {
  const id = useId();
  return (
    <div
      className="flex flex-wrap items-center justify-between gap-x-3 gap-y-2 rounded-xl border border-brand-100 bg-brand-50 px-4 py-3 text-sm text-brand-700"
      data-testid={testId}
    >
      <span id={id} className="min-w-0 wrap-anywhere">
        {children}
      </span>
      <span className="flex shrink-0 items-center gap-3">
        {action?.(id)}
        <button type="button" onClick={onDismiss} aria-describedby={id} className="font-medium hover:underline">
          Dismiss
        </button>
      </span>
    </div>
  );
}

/**
 * The dashboard's notices, in one live region. Each lasts only as long as what it is about: a
 * request waiting for approval until it is answered, denied, cancelled or expired (the dashboard
 * passes only live ones), a new sign-in until that session ends.
 */
export function Notices({
  message,
  onDismissMessage,
  requests,
  promptedRequestId,
  onReview,
  onDismissRequest,
  signIns,
  onDismissSignIn,
}: {
  message: string | null;
  onDismissMessage: () => void;
  requests: PendingApproval[];
  /** The request whose prompt is open now: the others (put aside with Escape) offer "Review". */
  promptedRequestId: string | undefined;
  onReview: (requestId: string) => void;
  onDismissRequest: (requestId: string) => void;
  signIns: SignInNotice[];
  onDismissSignIn: (sessionId: string) => void;
}) {
  return (
    // Always in the page, so screen readers announce what appears in it; takes no room when empty.
    <div role="status" className="space-y-2 empty:mb-0" data-testid="notices">
      {message && (
        <Notice onDismiss={onDismissMessage} testId="notice">
          {message}
        </Notice>
      )}
      {requests.map((r) => (
        <Notice
          key={r.requestId}
          testId="approval-notice"
          onDismiss={() => onDismissRequest(r.requestId)}
          action={(describedBy) =>
            r.requestId !== promptedRequestId && (
              <button
                type="button"
                onClick={() => onReview(r.requestId)}
                aria-describedby={describedBy}
                className="rounded-lg bg-brand-600 px-3 py-1 font-semibold text-white hover:bg-brand-700"
              >
                Review
              </button>
            )
          }
        >
          <DeviceName name={r.device.name} givenByDevice={isNameGivenByDevice(r, r.device)} /> ({r.location}) is waiting for your approval.
        </Notice>
      ))}
      {signIns.map((n) => (
        <Notice key={n.sessionId} testId="sign-in-notice" onDismiss={() => onDismissSignIn(n.sessionId)}>
          New sign-in: <DeviceName name={n.deviceName} /> · {n.location} ({n.ip})
        </Notice>
      ))}
    </div>
  );
}
