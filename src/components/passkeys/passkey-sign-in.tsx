"use client";

import { browserSupportsWebAuthn, browserSupportsWebAuthnAutofill, startAuthentication, WebAuthnAbortService } from "@simplewebauthn/browser";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "~/trpc/react";

/** What the person is told when a passkey ceremony ends without signing in (null: they cancelled, say nothing). */
export function passkeyFailure(error: unknown): string | null {
  const name = (error as { name?: unknown } | null)?.name;
  // The browser's own dialogs: cancelled, timed out or aborted by a newer ceremony.
  if (name === "NotAllowedError" || name === "AbortError") return null;
  if (name === "InvalidStateError") return "This passkey is already registered.";
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === "string" && message ? message : "The passkey could not be used. Try again.";
}

/**
 * Passkey sign-in on /login: conditional UI (the browser offers the account's passkeys in the email
 * field's autofill, which needs autocomplete="username webauthn" on it), and a button for the
 * browser's own passkey dialog (this device, a security key, or a phone through its QR code).
 */
export function PasskeySignIn({ next, onError }: { next: string; onError(message: string | undefined): void }) {
  const router = useRouter();
  const [supported, setSupported] = useState(false);
  const [busy, setBusy] = useState(false);
  const options = api.auth.passkeyOptions.useMutation();
  const login = api.auth.loginWithPasskey.useMutation();
  const mounted = useRef(true);
  // The latest props and mutations, read by the ceremony started once on mount.
  const latest = useRef({ next, onError, options, login, router });
  latest.current = { next, onError, options, login, router };

  const ceremony = useCallback(async (useBrowserAutofill: boolean) => {
    const { options, login } = latest.current;
    const optionsJSON = await options.mutateAsync();
    const response = await startAuthentication({ optionsJSON, useBrowserAutofill });
    setBusy(true);
    try {
      await login.mutateAsync({ response: response as Parameters<typeof login.mutateAsync>[0]["response"] });
      latest.current.router.replace(latest.current.next);
    } finally {
      if (mounted.current) setBusy(false);
    }
  }, []);

  const armAutofill = useCallback(async () => {
    if (!(await browserSupportsWebAuthnAutofill())) return;
    try {
      await ceremony(true);
    } catch (error) {
      const message = passkeyFailure(error);
      if (message && mounted.current) latest.current.onError(message);
    }
  }, [ceremony]);

  useEffect(() => {
    mounted.current = true;
    setSupported(browserSupportsWebAuthn());
    void armAutofill();
    return () => {
      mounted.current = false;
      WebAuthnAbortService.cancelCeremony();
    };
  }, [armAutofill]);

  if (!supported) return null;

  const signIn = async () => {
    onError(undefined);
    try {
      await ceremony(false);
    } catch (error) {
      const message = passkeyFailure(error);
      if (message) onError(message);
      // The button's ceremony replaced the autofill one: offer passkeys in the field again.
      void armAutofill();
    }
  };

  return (
    <div className="mt-4">
      <div className="flex items-center gap-3 text-xs text-slate-500" aria-hidden="true">
        <span className="h-px flex-1 bg-slate-200" />
        or
        <span className="h-px flex-1 bg-slate-200" />
      </div>
      <button
        type="button"
        onClick={() => void signIn()}
        disabled={busy}
        className="mt-4 w-full rounded-lg border border-slate-300 bg-white px-4 py-2.5 text-sm font-semibold text-slate-800 shadow-xs hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-600 disabled:cursor-wait disabled:opacity-70"
      >
        {busy ? "Signing in…" : "Sign in with a passkey"}
      </button>
    </div>
  );
}
