"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { ConfirmDialog } from "~/components/confirm-dialog";
import { ApprovalPrompt, TOO_MANY_WRONG_CODES } from "~/components/approvals/approval-prompt";
import { pickWouldSignOut } from "~/components/approvals/sign-out-warning";
import { OfferDialog } from "~/components/handoff/offer-dialog";
import { SignOutButton } from "~/components/sign-out-button";
import { endsSessions } from "~/lib/live-event-guards";
import type { RevokeReason, SessionsEndedEvent, UserEvent } from "~/lib/live-events";
import { api, type RouterOutputs } from "~/trpc/react";
import { AccountSection } from "./account-section";
import { DeviceCard } from "./device-card";
import { HistoryTable } from "./history-table";
import { LockoutPanel } from "./lockout-panel";
import { Notices, type SignInNotice } from "./notices";
import { PasskeysPanel } from "./passkeys-panel";
import { PasswordPanel } from "./password-panel";
import { SessionCap } from "./session-cap";
import { TwoFactorPanel } from "./two-factor-panel";

/** The revoke reasons the sign-in page explains in their own words; any other says "revoked". */
const TOLD_APART: ReadonlySet<RevokeReason> = new Set(["expired", "evicted", "signed_out", "password_changed", "password_reset", "account_deleted"]);

/** Where a page goes when its own session ends, and what the sign-in page then says. */
const leaveReason = (event: SessionsEndedEvent) =>
  event.type === "locked_out"
    ? event.passwordChanged
      ? "locked_out_password_changed"
      : "locked_out"
    : TOLD_APART.has(event.reason)
      ? event.reason
      : "revoked";

/** Re-renders every 30 s so "5 minutes ago" stays true. */
function useNow() {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** The current time, moved on when the earliest of `times` still ahead passes (an approval request expiring). */
function useClockPassing(times: number[]) {
  const [now, setNow] = useState(() => Date.now());
  const next = Math.min(...times.filter((t) => t > now));
  useEffect(() => {
    if (!Number.isFinite(next)) return;
    const timer = setTimeout(() => setNow(Date.now()), Math.max(0, next - Date.now()) + 50);
    return () => clearTimeout(timer);
  }, [next]);
  return now;
}

const adding = <T,>(set: ReadonlySet<T>, item: T): ReadonlySet<T> => new Set([...set, item]);

export function ControlCenter({ email, sessionId, liveFrom }: { email: string; sessionId: string; liveFrom: number }) {
  const router = useRouter();
  const utils = api.useUtils();
  const now = useNow();
  const devices = api.devices.list.useQuery();
  const sessions = api.sessions.list.useQuery();
  const cap = api.sessions.cap.useQuery();
  const pending = api.approvals.pending.useQuery();
  const [notice, setNotice] = useState<string | null>(null);
  const [signIns, setSignIns] = useState<SignInNotice[]>([]);
  const [alert, setAlert] = useState<string | null>(null);
  // Approval requests: resolved (as the feed says), put aside with Escape (the notice offers
  // "Review"), and notices dismissed. A request also drops out once past its expiresAt.
  const [resolvedRequests, setResolvedRequests] = useState<ReadonlySet<string>>(new Set());
  const [reviewLater, setReviewLater] = useState<ReadonlySet<string>>(new Set());
  const [hiddenRequests, setHiddenRequests] = useState<ReadonlySet<string>>(new Set());
  const [confirmOthers, setConfirmOthers] = useState(false);
  const [offering, setOffering] = useState(false);

  const clock = useClockPassing((pending.data ?? []).map((r) => r.expiresAt.getTime()));
  const waiting = (pending.data ?? []).filter((r) => !resolvedRequests.has(r.requestId) && r.expiresAt.getTime() > clock);
  const prompted = waiting.find((r) => !reviewLater.has(r.requestId));

  const refresh = () =>
    Promise.all([
      utils.devices.list.invalidate(),
      utils.sessions.list.invalidate(),
      utils.sessions.cap.invalidate(),
      utils.sessions.history.invalidate(),
      utils.account.securityActivity.invalidate(),
      utils.approvals.pending.invalidate(),
      utils.passkeys.list.invalidate(),
    ]);
  const leave = (reason: string) => router.replace(`/login?reason=${reason}`);

  api.sessions.onEvent.useSubscription(
    { lastEventId: String(liveFrom) },
    {
      onData(tracked) {
        const event: UserEvent = tracked.data;
        if (endsSessions(event) && event.sessionIds.includes(sessionId)) return leave(leaveReason(event));
        switch (event.type) {
          case "signed_in":
            if (event.warning)
              setAlert(
                `Suspicious sign-in on ${event.deviceName}: ${event.warning} If this was not you, revoke that session below, then change your password.`,
              );
            else
              setSignIns((list) => [
                ...list.filter((n) => n.sessionId !== event.sessionId),
                { sessionId: event.sessionId, deviceName: event.deviceName, location: event.location, ip: event.ip },
              ]);
            break;
          case "revoked":
          case "locked_out": {
            // A sign-in notice lasts as long as its session.
            const ended = new Set(event.sessionIds);
            setSignIns((list) => list.filter((n) => !ended.has(n.sessionId)));
            if (event.type === "revoked" && event.reason === "token_reuse")
              setAlert(
                "An app's refresh token was used twice, so it may have been copied. That app session was ended: sign the app in again, and change your password if you did not expect this.",
              );
            break;
          }
          case "approval_resolved":
            setResolvedRequests((set) => adding(set, event.requestId));
            if (event.status === "failed") setNotice(TOO_MANY_WRONG_CODES);
            break;
          case "sign_in_throttled":
            setAlert(
              `${event.attempts} sign-ins with a wrong password for your account (latest from ${event.location}, ${event.ip}): further attempts now have to wait. If this was not you, your password is still safe; consider changing it if it is used elsewhere.`,
            );
            break;
          case "device_updated":
          case "approval_requested":
          case "passkeys_changed":
            break; // the lists and prompts refresh below
          default:
            // A new event type has to be handled (or listed above) before this compiles.
            event satisfies never;
        }
        void refresh();
      },
      onError(error) {
        if (error.data?.reason === "not_signed_in") leave("expired");
        else if (error.data?.reason === "too_many_streams") setNotice(`Live updates are paused on this page. ${error.message}`);
      },
    },
  );

  const revokeOthers = api.sessions.revokeOthers.useMutation({
    onSuccess: ({ count }) => {
      setConfirmOthers(false);
      setNotice(count === 0 ? "No other device was signed in." : `Signed out ${count} other ${count === 1 ? "session" : "sessions"}.`);
      void refresh();
    },
  });

  const sessionsByDevice = new Map<string, RouterOutputs["sessions"]["list"]>();
  for (const s of sessions.data ?? []) sessionsByDevice.set(s.device.id, [...(sessionsByDevice.get(s.device.id) ?? []), s]);
  const otherSessions = (sessions.data ?? []).filter((s) => !s.current).length;
  const loadError = devices.error ?? sessions.error;

  return (
    <div className="space-y-8">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0">
          <h1 className="text-2xl font-semibold tracking-tight">Your devices</h1>
          <p className="mt-1 text-sm text-slate-600">
            Signed in as{" "}
            <span className="font-medium wrap-anywhere text-slate-900" data-testid="user-email">
              {email}
            </span>
          </p>
        </div>
        <SignOutButton />
      </div>

      {alert && (
        <div
          role="alert"
          className="flex items-start justify-between gap-3 rounded-xl border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900"
          data-testid="security-alert"
        >
          <span>
            <strong className="font-semibold">Security alert.</strong> {alert}
          </span>
          <button type="button" onClick={() => setAlert(null)} className="font-medium hover:underline" aria-label="Dismiss alert">
            Dismiss
          </button>
        </div>
      )}

      <Notices
        message={notice}
        onDismissMessage={() => setNotice(null)}
        requests={waiting.filter((r) => !hiddenRequests.has(r.requestId))}
        promptedRequestId={prompted?.requestId}
        onReview={(requestId) => setReviewLater((set) => new Set([...set].filter((id) => id !== requestId)))}
        onDismissRequest={(requestId) => setHiddenRequests((set) => adding(set, requestId))}
        signIns={signIns}
        onDismissSignIn={(sessionId) => setSignIns((list) => list.filter((n) => n.sessionId !== sessionId))}
      />

      <section aria-labelledby="devices-heading" className="space-y-4">
        <div className="flex flex-wrap items-center justify-between gap-3">
          <h2 id="devices-heading" className="text-lg font-semibold">
            Devices and sessions
          </h2>
          <div className="flex flex-wrap gap-2">
            <button
              type="button"
              onClick={() => setOffering(true)}
              className="rounded-lg bg-brand-600 px-3 py-2 text-sm font-semibold text-white shadow-sm hover:bg-brand-700"
            >
              Add a device
            </button>
            <Link href="/scan" className="rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 shadow-xs hover:bg-slate-50">
              Scan a code
            </Link>
            <button
              type="button"
              onClick={() => setConfirmOthers(true)}
              disabled={otherSessions === 0}
              className="rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 shadow-xs hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-50"
            >
              Sign out all other devices
            </button>
          </div>
        </div>
        {cap.data && <SessionCap cap={cap.data} />}
        {loadError && (
          <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
            {loadError.message}
          </p>
        )}
        {devices.isPending ? (
          <p className="text-sm text-slate-500">Loading your devices…</p>
        ) : (
          <ul className="grid gap-4 lg:grid-cols-2" data-testid="device-list">
            {(devices.data ?? []).map((device) => (
              <DeviceCard
                key={device.id}
                device={device}
                sessions={sessionsByDevice.get(device.id) ?? []}
                now={now}
                onChanged={refresh}
                onSignedOut={() => leave("signed_out")}
              />
            ))}
          </ul>
        )}
        <p className="text-xs text-slate-500">
          Places are estimated from IP addresses.{" "}
          <a href="https://db-ip.com" className="underline hover:text-slate-700">
            IP Geolocation by DB-IP
          </a>
        </p>
      </section>

      <PasskeysPanel now={now} />

      <HistoryTable now={now} />

      <AccountSection now={now} />

      <PasswordPanel onChanged={() => void refresh()} />

      <TwoFactorPanel />

      <LockoutPanel onLockedOut={(passwordChanged) => leave(passwordChanged ? "locked_out_password_changed" : "locked_out")} />

      <ApprovalPrompt
        request={prompted}
        wouldSignOut={pickWouldSignOut(prompted, cap.data)}
        limit={cap.data?.limit}
        onClose={(requestId) => setReviewLater((set) => adding(set, requestId))}
        onSettled={(requestId) => setResolvedRequests((set) => adding(set, requestId))}
        onEnded={setNotice}
      />

      <OfferDialog open={offering} onClose={() => setOffering(false)} onDone={() => void refresh()} />

      <ConfirmDialog
        open={confirmOthers}
        title="Sign out all other devices?"
        confirmLabel="Sign out others"
        busyLabel="Signing out…"
        busy={revokeOthers.isPending}
        error={revokeOthers.error?.message}
        danger
        onConfirm={() => revokeOthers.mutate()}
        onClose={() => setConfirmOthers(false)}
      >
        <p>
          Every session except this one ends now ({otherSessions} {otherSessions === 1 ? "session" : "sessions"}). Those devices will need your password to sign
          in again.
        </p>
      </ConfirmDialog>
    </div>
  );
}
