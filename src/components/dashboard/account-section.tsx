"use client";

import { useRouter } from "next/navigation";
import { useId, useState } from "react";
import { ConfirmDialog } from "~/components/confirm-dialog";
import { PasswordField } from "~/components/password-field";
import { isSecondFactorCodeRequired, SecondFactorCodeField, useWantsSecondFactorCode, withCode } from "~/components/second-factor-code-field";
import { useReauth } from "~/components/reauth";
import { formatDateTime, timeAgo } from "~/lib/time";
import { api } from "~/trpc/react";
import { Pager, useCursorPages } from "./pager";

const PAGE = 10;

const box = "space-y-3 rounded-2xl border border-slate-200 bg-white p-5 shadow-sm";
const secondaryButton =
  "rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 shadow-xs hover:bg-slate-50 disabled:cursor-wait disabled:opacity-70";

/** The address with its verified badge, and the form that asks to change it (a link to the new address). */
function AddressPanel() {
  const id = useId();
  const utils = api.useUtils();
  const me = api.auth.me.useQuery();
  const [newEmail, setNewEmail] = useState("");
  const change = api.account.changeEmail.useMutation({ onSuccess: () => void utils.account.securityActivity.invalidate() });
  const reauth = useReauth();
  const user = me.data?.user;
  return (
    <div className={box}>
      <h3 className="font-semibold">Email address</h3>
      {user && (
        <p className="flex flex-wrap items-center gap-2 text-sm">
          <span className="font-medium wrap-anywhere text-slate-900" data-testid="account-email">
            {user.email}
          </span>
          {user.emailVerified ? (
            <span className="rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-emerald-200" data-testid="email-badge">
              Verified
            </span>
          ) : (
            <span className="rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-amber-200" data-testid="email-badge">
              Not verified
            </span>
          )}
        </p>
      )}
      <form
        method="post"
        className="space-y-3"
        onSubmit={(event) => {
          event.preventDefault();
          void reauth.run(() => change.mutateAsync({ newEmail }));
        }}
      >
        <div>
          <label htmlFor={`${id}-new-email`} className="block text-sm font-medium text-slate-800">
            New address
          </label>
          <input
            id={`${id}-new-email`}
            type="email"
            inputMode="email"
            autoComplete="email"
            autoCapitalize="none"
            spellCheck={false}
            required
            value={newEmail}
            onChange={(e) => setNewEmail(e.target.value)}
            className="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-base shadow-xs focus:border-brand-500 focus:outline-none"
          />
        </div>
        {reauth.field}
        {(reauth.error ?? (change.error && !reauth.needed ? change.error.message : null)) && (
          <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
            {reauth.error ?? change.error?.message}
          </p>
        )}
        {change.data && (
          <p role="status" className="rounded-lg border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
            We sent a link to {change.data.pendingEmail}. Your address changes when you open it; until then you keep using {user?.email}.
          </p>
        )}
        <button type="submit" disabled={change.isPending || reauth.busy} className={secondaryButton}>
          {change.isPending || reauth.busy ? "Sending…" : "Change address"}
        </button>
      </form>
    </div>
  );
}

/** The user's own security events, newest first, a page at a time. */
function SecurityActivity({ now }: { now: number }) {
  const pages = useCursorPages();
  const activity = api.account.securityActivity.useQuery({ cursor: pages.cursor, limit: PAGE }, { placeholderData: (previous) => previous });
  return (
    <div className={box}>
      <h3 className="font-semibold">Security activity</h3>
      <ul className="divide-y divide-slate-100 text-sm" data-testid="security-activity">
        {activity.data?.items.map((e) => (
          <li key={e.id} className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-0.5 py-2" data-testid="security-event" data-type={e.type}>
            <span className="min-w-0 font-medium text-slate-900">
              {e.title}
              {e.deviceName && <bdi className="ml-1 font-normal text-slate-600">({e.deviceName})</bdi>}
            </span>
            <span className="text-slate-500" title={formatDateTime(e.createdAt)}>
              {e.location} · {timeAgo(e.createdAt, now)}
            </span>
          </li>
        ))}
        {activity.data?.items.length === 0 && <li className="py-2 text-slate-500">Nothing yet.</li>}
      </ul>
      {activity.error && (
        <p role="alert" className="text-sm text-red-700">
          {activity.error.message}
        </p>
      )}
      <Pager label="Security activity pages" pages={pages} nextCursor={activity.data?.nextCursor} />
    </div>
  );
}

/** "Download my data": the export as a JSON file. */
function DownloadData() {
  const utils = api.useUtils();
  const reauth = useReauth();
  const exportData = api.account.exportData.useMutation({
    onSuccess(data) {
      void utils.account.securityActivity.invalidate();
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `handoff-data-${new Date().toISOString().slice(0, 10)}.json`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
  });
  return (
    <div className={box}>
      <h3 className="font-semibold">Your data</h3>
      <p className="text-sm text-slate-600">
        Everything stored about you (profile, devices, addresses, sessions, sign-in history, security activity) as one JSON file.
      </p>
      <form
        className="space-y-3"
        onSubmit={(event) => {
          event.preventDefault();
          void reauth.run(() => exportData.mutateAsync());
        }}
      >
        {reauth.field}
        {(reauth.error ?? (exportData.error && !reauth.needed)) && (
          <p role="alert" className="text-sm text-red-700">
            {reauth.error ?? exportData.error?.message}
          </p>
        )}
        <button type="submit" disabled={exportData.isPending || reauth.busy} className={secondaryButton}>
          {exportData.isPending || reauth.busy ? "Preparing…" : reauth.needed ? "Confirm and download" : "Download my data"}
        </button>
      </form>
    </div>
  );
}

/** Deleting the account, with the password, after a confirmation. */
function DeleteAccount() {
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [codeAsked, setCodeAsked] = useState(false);
  const remove = api.account.delete.useMutation({
    onSuccess: () => router.replace("/login?reason=account_deleted"),
    onError: (error) => {
      if (isSecondFactorCodeRequired(error)) setCodeAsked(true);
    },
  });
  const wantsCode = useWantsSecondFactorCode(open, codeAsked);
  return (
    <div className={`${box} border-red-200`}>
      <h3 className="font-semibold text-red-800">Delete account</h3>
      <p className="text-sm text-slate-600">Ends every session and deletes everything stored about you. This cannot be undone.</p>
      <button
        type="button"
        onClick={() => setOpen(true)}
        className="rounded-lg border border-red-300 bg-white px-3 py-2 text-sm font-medium text-red-700 shadow-xs hover:bg-red-50"
      >
        Delete my account
      </button>
      <ConfirmDialog
        open={open}
        title="Delete your account?"
        confirmLabel="Delete account"
        busyLabel="Deleting…"
        busy={remove.isPending}
        error={remove.error?.message}
        danger
        onConfirm={() => remove.mutate({ password, ...withCode(code) })}
        onClose={() => setOpen(false)}
      >
        <p>
          Every device is signed out, and your devices, sign-in history and security activity are deleted. You get a last email; the address can be used again.
        </p>
        <PasswordField label="Your password" value={password} onChange={setPassword} autoFocus />
        {wantsCode && <SecondFactorCodeField value={code} onChange={setCode} />}
      </ConfirmDialog>
    </div>
  );
}

/** The dashboard's "Account" section: address, security activity, data export, deletion. */
export function AccountSection({ now }: { now: number }) {
  return (
    <section aria-labelledby="account-heading" className="space-y-3">
      <h2 id="account-heading" className="text-lg font-semibold">
        Account
      </h2>
      <div className="grid gap-4 lg:grid-cols-2">
        <AddressPanel />
        <SecurityActivity now={now} />
        <DownloadData />
        <DeleteAccount />
      </div>
    </section>
  );
}
