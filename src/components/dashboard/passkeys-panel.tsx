"use client";

import { browserSupportsWebAuthn, startRegistration } from "@simplewebauthn/browser";
import { useEffect, useId, useState } from "react";
import { ConfirmDialog } from "~/components/confirm-dialog";
import { passkeyFailure } from "~/components/passkeys/passkey-sign-in";
import { useReauth } from "~/components/reauth";
import { formatDateTime, timeAgo } from "~/lib/time";
import { api, type RouterOutputs } from "~/trpc/react";

type Passkey = RouterOutputs["passkeys"]["list"][number];

const box = "space-y-4 rounded-2xl border border-slate-200 bg-white p-5 shadow-sm";
const secondaryButton =
  "rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 shadow-xs hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-600 disabled:cursor-wait disabled:opacity-70";
const input = "mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-base shadow-xs focus:border-brand-500 focus:outline-none";

/** "iCloud Keychain · synced · last used 2 days ago" */
function describe(passkey: Passkey, now: number) {
  return [passkey.provider, passkey.synced ? "synced" : null, passkey.lastUsedAt ? `last used ${timeAgo(passkey.lastUsedAt, now)}` : "never used"]
    .filter(Boolean)
    .join(" · ");
}

function PasskeyItem({ passkey, now, onRemove }: { passkey: Passkey; now: number; onRemove(): void }) {
  const id = useId();
  const utils = api.useUtils();
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(passkey.name);
  const rename = api.passkeys.rename.useMutation({
    onSuccess: () => {
      setRenaming(false);
      void utils.passkeys.list.invalidate();
    },
  });
  return (
    <li className="flex flex-wrap items-start justify-between gap-3 py-3" data-testid="passkey">
      <div className="min-w-0 flex-1">
        {renaming ? (
          <form
            className="flex flex-wrap items-end gap-2"
            onSubmit={(event) => {
              event.preventDefault();
              rename.mutate({ id: passkey.id, name });
            }}
          >
            <div className="min-w-0 flex-1">
              <label htmlFor={`${id}-name`} className="block text-sm font-medium text-slate-800">
                Passkey name
              </label>
              <input id={`${id}-name`} value={name} maxLength={64} onChange={(e) => setName(e.target.value)} autoFocus className={input} />
            </div>
            <button type="submit" disabled={rename.isPending} className={secondaryButton}>
              Save
            </button>
            <button type="button" onClick={() => setRenaming(false)} className={secondaryButton}>
              Cancel
            </button>
            {rename.error && (
              <p role="alert" className="w-full text-sm text-red-700">
                {rename.error.message}
              </p>
            )}
          </form>
        ) : (
          <>
            <p className="font-medium wrap-anywhere text-slate-900">
              <bdi>{passkey.name}</bdi>
            </p>
            <p className="text-sm text-slate-600" data-testid="passkey-details">
              {describe(passkey, now)}
            </p>
            <p className="text-xs text-slate-500" title={formatDateTime(passkey.createdAt)}>
              Added {timeAgo(passkey.createdAt, now)}
            </p>
          </>
        )}
      </div>
      {!renaming && (
        <div className="flex gap-2">
          <button type="button" onClick={() => setRenaming(true)} className={secondaryButton} aria-label={`Rename passkey ${passkey.name}`}>
            Rename
          </button>
          <button type="button" onClick={onRemove} className={secondaryButton} aria-label={`Remove passkey ${passkey.name}`}>
            Remove
          </button>
        </div>
      )}
    </li>
  );
}

/** The dashboard's passkeys: list, add (with a name), rename, remove; adding and removing need fresh authentication. */
export function PasskeysPanel({ now }: { now: number }) {
  const id = useId();
  const utils = api.useUtils();
  // Fresh on every visit: a sign-in with a passkey has just changed its "last used".
  const passkeys = api.passkeys.list.useQuery(undefined, { refetchOnMount: "always" });
  const [supported, setSupported] = useState(true);
  const [name, setName] = useState("");
  const [addError, setAddError] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const [removing, setRemoving] = useState<Passkey | null>(null);
  const options = api.passkeys.registrationOptions.useMutation();
  const register = api.passkeys.register.useMutation();
  const remove = api.passkeys.remove.useMutation();
  const addReauth = useReauth();
  const removeReauth = useReauth();

  useEffect(() => setSupported(browserSupportsWebAuthn()), []);

  const refresh = () => Promise.all([utils.passkeys.list.invalidate(), utils.account.securityActivity.invalidate()]);

  const add = async () => {
    setAddError(null);
    setAdded(null);
    const optionsJSON = await options.mutateAsync(); // reauth_required is caught by useReauth
    let response;
    try {
      response = await startRegistration({ optionsJSON });
    } catch (error) {
      setAddError(passkeyFailure(error));
      return;
    }
    const result = await register.mutateAsync({ response: response as Parameters<typeof register.mutateAsync>[0]["response"], name: name.trim() || "Passkey" });
    setAdded(result.passkey.name);
    setName("");
    await refresh();
  };

  const serverError = (error: { message: string } | null) => error?.message ?? null;
  const addMessage = addReauth.error ?? addError ?? serverError(options.error) ?? serverError(register.error);
  const adding = options.isPending || register.isPending || addReauth.busy;

  return (
    <section aria-labelledby={`${id}-heading`} className={box} data-testid="passkeys-panel">
      <div>
        <h2 id={`${id}-heading`} className="text-lg font-semibold">
          Passkeys
        </h2>
        <p className="mt-1 text-sm text-slate-600">
          Sign in with your fingerprint, face or screen lock instead of your password. A passkey cannot be phished, and signs in on a new device without an
          approval code.
        </p>
      </div>
      {passkeys.isPending ? (
        <p className="text-sm text-slate-500">Loading your passkeys…</p>
      ) : passkeys.data?.length ? (
        <ul className="divide-y divide-slate-100" data-testid="passkey-list">
          {passkeys.data.map((p) => (
            <PasskeyItem key={p.id} passkey={p} now={now} onRemove={() => setRemoving(p)} />
          ))}
        </ul>
      ) : (
        <p className="text-sm text-slate-500">No passkeys yet.</p>
      )}
      {passkeys.error && (
        <p role="alert" className="text-sm text-red-700">
          {passkeys.error.message}
        </p>
      )}
      {supported ? (
        <form
          className="space-y-3 border-t border-slate-100 pt-4"
          onSubmit={(event) => {
            event.preventDefault();
            void addReauth.run(add);
          }}
        >
          <div>
            <label htmlFor={`${id}-new-name`} className="block text-sm font-medium text-slate-800">
              Name for a new passkey
            </label>
            <input id={`${id}-new-name`} value={name} maxLength={64} placeholder="e.g. My laptop" onChange={(e) => setName(e.target.value)} className={input} />
          </div>
          {addReauth.field}
          {addMessage && (
            <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
              {addMessage}
            </p>
          )}
          {added && (
            <p role="status" className="rounded-lg border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
              Passkey “{added}” added. You can now sign in with it.
            </p>
          )}
          <button
            type="submit"
            disabled={adding}
            className="rounded-lg bg-brand-600 px-3 py-2 text-sm font-semibold text-white shadow-sm hover:bg-brand-700 disabled:cursor-wait disabled:opacity-70 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-600"
          >
            {adding ? "Adding…" : "Add a passkey"}
          </button>
        </form>
      ) : (
        <p className="text-sm text-slate-500">This browser cannot create passkeys.</p>
      )}
      <ConfirmDialog
        open={removing !== null}
        title="Remove this passkey?"
        confirmLabel="Remove passkey"
        busyLabel="Removing…"
        busy={remove.isPending || removeReauth.busy}
        error={removeReauth.error ?? serverError(remove.error)}
        danger
        onConfirm={() =>
          void removeReauth.run(async () => {
            await remove.mutateAsync({ id: removing!.id });
            setRemoving(null);
            await refresh();
          })
        }
        onClose={() => setRemoving(null)}
      >
        <p>
          “<bdi>{removing?.name}</bdi>” will no longer sign in to your account. Remove it from your password manager or device as well.
        </p>
        {removeReauth.field}
      </ConfirmDialog>
    </section>
  );
}
