"use client";

import { useId, useState } from "react";
import { ConfirmDialog } from "~/components/confirm-dialog";
import { useReauth } from "~/components/reauth";
import { DeviceIcon } from "~/components/device-icon";
import { formatDateTime, timeAgo } from "~/lib/time";
import { api, type RouterOutputs } from "~/trpc/react";

type Device = RouterOutputs["devices"]["list"][number];
type Session = RouterOutputs["sessions"]["list"][number];

const methodLabel: Record<string, string> = { password: "password", qr: "QR code", approval: "approval", token: "app token", passkey: "passkey" };

function RenameForm({ device, onDone }: { device: Device; onDone: () => void }) {
  const id = useId();
  const [name, setName] = useState(device.name);
  const rename = api.devices.rename.useMutation({ onSuccess: onDone });
  return (
    <form
      className="flex flex-wrap items-start gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        rename.mutate({ deviceId: device.id, name });
      }}
    >
      <label htmlFor={id} className="sr-only">
        Device name
      </label>
      <input
        id={id}
        value={name}
        onChange={(e) => setName(e.target.value)}
        maxLength={64}
        autoFocus
        aria-invalid={rename.error ? true : undefined}
        aria-describedby={rename.error ? `${id}-error` : undefined}
        className="min-w-0 flex-1 rounded-lg border border-slate-300 px-2.5 py-1.5 text-sm focus:border-brand-500 focus:outline-none"
      />
      <button
        type="submit"
        disabled={rename.isPending}
        className="rounded-lg bg-brand-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-brand-700 disabled:opacity-70"
      >
        Save
      </button>
      <button type="button" onClick={onDone} className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50">
        Cancel
      </button>
      {rename.error && (
        <p id={`${id}-error`} className="w-full text-sm text-red-700">
          {rename.error.message}
        </p>
      )}
    </form>
  );
}

function SessionRow({ session, now, onChanged, onSignedOut }: { session: Session; now: number; onChanged: () => void; onSignedOut: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const revoke = api.sessions.revoke.useMutation({
    onSuccess: ({ current }) => {
      setConfirming(false);
      if (current) onSignedOut();
      else onChanged();
    },
  });
  return (
    <li className="flex flex-wrap items-center justify-between gap-3 py-3" data-testid="session-row" data-current={session.current ? "true" : undefined}>
      <div className="min-w-0 text-sm">
        <p className="font-medium text-slate-900">
          {session.current ? "This session" : `Signed in with ${methodLabel[session.method] ?? session.method}`}{" "}
          <span className="font-normal text-slate-500" title={formatDateTime(session.createdAt)}>
            · {timeAgo(session.createdAt, now)}
          </span>
        </p>
        <p className="text-slate-600">
          Active <span title={formatDateTime(session.lastSeenAt)}>{timeAgo(session.lastSeenAt, now)}</span> · {session.ip} · {session.location}
        </p>
      </div>
      <button
        type="button"
        onClick={() => setConfirming(true)}
        className="rounded-lg border border-red-200 bg-white px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50"
        aria-label={`Revoke session signed in ${timeAgo(session.createdAt, now)} from ${session.location}`}
      >
        Revoke
      </button>
      <ConfirmDialog
        open={confirming}
        title={session.current ? "Sign out this session?" : "Revoke this session?"}
        confirmLabel="Revoke"
        busyLabel="Revoking…"
        busy={revoke.isPending}
        error={revoke.error?.message}
        danger
        onConfirm={() => revoke.mutate({ sessionId: session.id })}
        onClose={() => setConfirming(false)}
      >
        <p>
          {session.current
            ? "This device will be signed out now."
            : `The session on ${session.device.name} (${session.location}) ends now; that device will have to sign in again.`}
        </p>
      </ConfirmDialog>
    </li>
  );
}

export function DeviceCard({
  device,
  sessions,
  now,
  onChanged,
  onSignedOut,
}: {
  device: Device;
  sessions: Session[];
  now: number;
  onChanged: () => void;
  onSignedOut: () => void;
}) {
  const [renaming, setRenaming] = useState(false);
  const [forgetting, setForgetting] = useState(false);
  const reauth = useReauth();
  const forget = api.devices.forget.useMutation({
    onSuccess: ({ current }) => {
      setForgetting(false);
      if (current) onSignedOut();
      else onChanged();
    },
  });
  const headingId = useId();

  return (
    <li
      aria-labelledby={headingId}
      className="flex flex-col rounded-2xl border border-slate-200 bg-white p-5 shadow-sm"
      data-testid="device-card"
      data-device-id={device.id}
    >
      <div className="flex items-start gap-4">
        <span
          className={`grid h-12 w-12 shrink-0 place-items-center rounded-xl ${device.active ? "bg-brand-50 text-brand-700" : "bg-slate-100 text-slate-500"}`}
        >
          <DeviceIcon type={device.deviceType} className="h-7 w-7" />
        </span>
        <div className="min-w-0 flex-1">
          {renaming ? (
            <RenameForm
              device={device}
              onDone={() => {
                setRenaming(false);
                onChanged();
              }}
            />
          ) : (
            <div className="flex flex-wrap items-center gap-2">
              <h3 id={headingId} className="text-base font-semibold wrap-anywhere text-slate-900" data-testid="device-name">
                {device.name}
              </h3>
              {device.current && (
                <span className="rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-emerald-200">This device</span>
              )}
              <span
                className={`rounded-full px-2 py-0.5 text-xs font-medium ring-1 ${device.active ? "bg-brand-50 text-brand-700 ring-brand-100" : "bg-slate-50 text-slate-600 ring-slate-200"}`}
              >
                {device.active ? `Active · ${device.activeSessions} ${device.activeSessions === 1 ? "session" : "sessions"}` : "Inactive"}
              </span>
            </div>
          )}
          <p className="mt-0.5 text-sm text-slate-600">{[device.browser, device.os, device.deviceType].filter(Boolean).join(" · ")}</p>
          <p className="text-sm text-slate-600">
            Last active <span title={formatDateTime(device.lastSeenAt)}>{timeAgo(device.lastSeenAt, now)}</span> · first seen{" "}
            <span title={formatDateTime(device.firstSeenAt)}>{timeAgo(device.firstSeenAt, now)}</span>
          </p>
        </div>
      </div>

      {device.ips.length > 0 && (
        <div className="mt-4">
          <h4 className="text-xs font-medium tracking-wide text-slate-500 uppercase">Networks</h4>
          <ul className="mt-1 space-y-0.5 text-sm text-slate-700">
            {device.ips.slice(0, 4).map((ip) => (
              <li key={ip.address} className="wrap-anywhere">
                {ip.address} · {ip.location} · <span className="text-slate-500">{timeAgo(ip.lastSeenAt, now)}</span>
              </li>
            ))}
          </ul>
        </div>
      )}

      {sessions.length > 0 && (
        <ul className="mt-3 divide-y divide-slate-100 border-t border-slate-100" aria-label={`Sessions on ${device.name}`}>
          {sessions.map((s) => (
            <SessionRow key={s.id} session={s} now={now} onChanged={onChanged} onSignedOut={onSignedOut} />
          ))}
        </ul>
      )}

      <div className="mt-auto flex flex-wrap gap-2 pt-4">
        {!renaming && (
          <button
            type="button"
            onClick={() => setRenaming(true)}
            className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50"
          >
            Rename
          </button>
        )}
        <button
          type="button"
          onClick={() => setForgetting(true)}
          className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50"
        >
          Forget device
        </button>
      </div>

      <ConfirmDialog
        open={forgetting}
        title={`Forget ${device.name}?`}
        confirmLabel="Forget device"
        busyLabel="Forgetting…"
        busy={forget.isPending || reauth.busy}
        error={reauth.error ?? forget.error?.message}
        danger
        onConfirm={() => void reauth.run(() => forget.mutateAsync({ deviceId: device.id }))}
        onClose={() => setForgetting(false)}
      >
        <p>
          {device.activeSessions > 0 ? `Its ${device.activeSessions === 1 ? "session ends" : `${device.activeSessions} sessions end`} now and it` : "It"}{" "}
          disappears from this list. If it signs in again it shows up as a new device{device.current ? " — and this device is signed out." : "."}
        </p>
        {reauth.field}
      </ConfirmDialog>
    </li>
  );
}
