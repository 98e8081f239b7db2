"use client";

import { QRCodeSVG } from "qrcode.react";
import { useId, useState } from "react";
import { useReauth } from "~/components/reauth";
import { api } from "~/trpc/react";

const button = "rounded-lg px-4 py-2 text-sm font-semibold shadow-sm disabled:opacity-70";
const primary = `${button} bg-brand-600 text-white hover:bg-brand-700`;
const secondary = `${button} border border-slate-300 bg-white text-slate-800 hover:bg-slate-50`;
const codeInput =
  "mt-1 block w-40 rounded-lg border border-slate-300 px-3 py-2 font-mono text-lg tracking-widest shadow-xs focus:border-brand-500 focus:outline-none aria-invalid:border-red-500";

/** Groups of four, as authenticator apps show secrets typed by hand. */
const grouped = (secret: string) => secret.match(/.{1,4}/g)?.join(" ") ?? secret;

function Alert({ children }: { children: React.ReactNode }) {
  return (
    <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      {children}
    </p>
  );
}

/** Recovery codes, shown once: copy or download them. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const id = useId();
  const [copied, setCopied] = useState(false);
  const text = `Handoff recovery codes (each works once)\n\n${codes.join("\n")}\n`;
  return (
    <div className="mt-4 rounded-xl border border-amber-200 bg-amber-50 p-4" aria-labelledby={`${id}-title`} role="region">
      <h3 id={`${id}-title`} className="font-semibold text-slate-900">
        Save your recovery codes
      </h3>
      <p className="mt-1 text-sm text-slate-700">
        If you lose your phone, each of these codes signs you in once instead of the app. They are shown only now: keep them somewhere safe.
      </p>
      <ul className="mt-3 grid grid-cols-2 gap-x-6 gap-y-1 font-mono text-sm text-slate-900 sm:grid-cols-5" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
      <div className="mt-4 flex flex-wrap gap-2">
        <button
          type="button"
          className={secondary}
          onClick={() =>
            void navigator.clipboard.writeText(text).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? "Copied" : "Copy codes"}
        </button>
        <a className={secondary} href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`} download="handoff-recovery-codes.txt">
          Download
        </a>
        <button type="button" className={primary} onClick={onDone}>
          I have saved them
        </button>
      </div>
    </div>
  );
}

/** The dashboard's "Two-factor authentication" panel: set up with a QR code, confirm, recovery codes, turn off. */
export function TwoFactorPanel() {
  const id = useId();
  const utils = api.useUtils();
  // Always asked afresh when the dashboard opens: a sign-in with a recovery code has just changed it.
  const status = api.twoFactor.status.useQuery(undefined, { refetchOnMount: "always" });
  const reauth = useReauth();
  const [code, setCode] = useState("");
  const [disableCode, setDisableCode] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const [copied, setCopied] = useState(false);
  const [turningOff, setTurningOff] = useState(false);
  const refresh = () => void utils.twoFactor.status.invalidate();
  const setup = api.twoFactor.setup.useMutation();
  const enable = api.twoFactor.enable.useMutation({
    onSuccess: (data) => {
      setCodes(data.recoveryCodes);
      setup.reset();
      setCode("");
      refresh();
    },
  });
  const disable = api.twoFactor.disable.useMutation({
    onSuccess: () => {
      setTurningOff(false);
      setDisableCode("");
      refresh();
    },
  });
  const regenerate = api.twoFactor.regenerateRecoveryCodes.useMutation({
    onSuccess: (data) => {
      setCodes(data.recoveryCodes);
      refresh();
    },
  });
  const busy = reauth.busy || setup.isPending || enable.isPending || disable.isPending || regenerate.isPending;
  const error = [setup, enable, disable, regenerate].map((m) => m.error).find((e) => e && e.data?.reason !== "reauth_required")?.message ?? reauth.error;

  const enabled = status.data?.enabled === true;

  return (
    <section aria-labelledby={`${id}-heading`} className="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6">
      <h2 id={`${id}-heading`} className="text-lg font-semibold">
        Two-factor authentication
      </h2>
      <p className="mt-1 text-sm text-slate-600" data-testid="two-factor-state">
        {status.isPending
          ? "Loading…"
          : enabled
            ? `On: signing in needs a code from your authenticator app after the password. ${status.data?.recoveryCodesLeft ?? 0} of 10 recovery codes left.`
            : "Off: your password alone signs you in. Add a code from an authenticator app (Google Authenticator, 1Password, Authy…) to every sign-in."}
      </p>

      {codes && (
        <RecoveryCodes
          codes={codes}
          onDone={() => {
            setCodes(null);
            enable.reset();
            regenerate.reset();
          }}
        />
      )}

      <div className="mt-4 grid max-w-xl gap-4">
        {reauth.field}
        {error && <Alert>{error}</Alert>}

        {!enabled && !setup.data && !codes && (
          <div>
            <button type="button" className={primary} disabled={busy || status.isPending} onClick={() => void reauth.run(() => setup.mutateAsync())}>
              {reauth.needed ? "Confirm password and set up" : "Set up two-factor authentication"}
            </button>
          </div>
        )}

        {!enabled && setup.data && (
          <form
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              void reauth.run(() => enable.mutateAsync({ code: code.trim() }));
            }}
          >
            <ol className="list-decimal space-y-3 pl-5 text-sm text-slate-800">
              <li>
                Scan this QR code with your authenticator app.
                <div className="mt-2 w-fit rounded-lg border border-slate-200 bg-white p-3">
                  <QRCodeSVG value={setup.data.uri} size={176} marginSize={0} title="QR code to add Handoff to your authenticator app" />
                </div>
              </li>
              <li>
                Or type this key into the app:
                <div className="mt-1 flex flex-wrap items-center gap-2">
                  <code className="rounded bg-slate-100 px-2 py-1 font-mono text-sm break-all" aria-label="Secret key" data-testid="totp-secret">
                    {grouped(setup.data.secret)}
                  </code>
                  <button
                    type="button"
                    className={secondary}
                    onClick={() =>
                      void navigator.clipboard.writeText(setup.data!.secret).then(
                        () => setCopied(true),
                        () => setCopied(false),
                      )
                    }
                  >
                    {copied ? "Copied" : "Copy key"}
                  </button>
                </div>
              </li>
              <li>
                <label htmlFor={`${id}-code`}>Enter the 6-digit code the app shows:</label>
                <input
                  id={`${id}-code`}
                  name="code"
                  type="text"
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  pattern="[0-9 ]*"
                  maxLength={7}
                  value={code}
                  onChange={(e) => {
                    setCode(e.target.value);
                    enable.reset();
                  }}
                  aria-invalid={enable.error ? true : undefined}
                  className={codeInput}
                />
              </li>
            </ol>
            <div className="flex flex-wrap gap-2">
              <button type="submit" className={primary} disabled={busy || code.trim().length < 6}>
                {enable.isPending ? "Turning on…" : "Turn on"}
              </button>
              <button
                type="button"
                className={secondary}
                onClick={() => {
                  setup.reset();
                  setCode("");
                }}
              >
                Cancel
              </button>
            </div>
          </form>
        )}

        {enabled && !turningOff && !codes && (
          <div className="flex flex-wrap gap-2">
            <button type="button" className={secondary} disabled={busy} onClick={() => void reauth.run(() => regenerate.mutateAsync())}>
              {regenerate.isPending ? "Creating…" : "New recovery codes"}
            </button>
            <button type="button" className={secondary} disabled={busy} onClick={() => setTurningOff(true)}>
              Turn off
            </button>
          </div>
        )}

        {enabled && turningOff && (
          <form
            className="grid gap-3"
            onSubmit={(e) => {
              e.preventDefault();
              void reauth.run(() => disable.mutateAsync({ code: disableCode.trim() }));
            }}
          >
            <div>
              <label htmlFor={`${id}-disable`} className="block text-sm font-medium text-slate-800">
                Code from your authenticator app (or a recovery code)
              </label>
              <input
                id={`${id}-disable`}
                type="text"
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={32}
                value={disableCode}
                onChange={(e) => {
                  setDisableCode(e.target.value);
                  disable.reset();
                }}
                aria-invalid={disable.error ? true : undefined}
                className={codeInput.replace("w-40", "w-56")}
              />
            </div>
            <div className="flex flex-wrap gap-2">
              <button type="submit" className={`${button} bg-red-600 text-white hover:bg-red-700`} disabled={busy || !disableCode.trim()}>
                {disable.isPending ? "Turning off…" : "Turn off two-factor"}
              </button>
              <button
                type="button"
                className={secondary}
                onClick={() => {
                  setTurningOff(false);
                  disable.reset();
                }}
              >
                Cancel
              </button>
            </div>
          </form>
        )}
      </div>
    </section>
  );
}
