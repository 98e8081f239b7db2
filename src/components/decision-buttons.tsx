"use client";

/**
 * Deny and Approve side by side (stacked, Approve on top, on a phone). Approve is a submit button
 * when `onApprove` is omitted, for forms whose submit approves (a code, a password).
 */
export function DecisionButtons({
  onDeny,
  onApprove,
  approveLabel,
  approveDisabled,
  denyDisabled,
}: {
  onDeny: () => void;
  onApprove?: () => void;
  approveLabel: string;
  approveDisabled?: boolean;
  denyDisabled?: boolean;
}) {
  return (
    <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
      <button
        type="button"
        onClick={onDeny}
        disabled={denyDisabled}
        className="rounded-lg border border-slate-300 bg-white px-4 py-2.5 text-sm font-medium text-slate-800 hover:bg-slate-50 disabled:opacity-70"
      >
        Deny
      </button>
      <button
        type={onApprove ? "button" : "submit"}
        onClick={onApprove}
        disabled={approveDisabled}
        className="rounded-lg bg-brand-600 px-4 py-2.5 text-sm font-semibold text-white hover:bg-brand-700 disabled:opacity-60"
      >
        {approveLabel}
      </button>
    </div>
  );
}
