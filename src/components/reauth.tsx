"use client";

import { browserSupportsWebAuthn, startAuthentication } from "@simplewebauthn/browser";
import { useRef, useState } from "react";
import type { ErrorReason } from "~/server/platform/errors";
import { PasswordField } from "~/components/password-field";
import { passkeyFailure } from "~/components/passkeys/passkey-sign-in";
import { isSecondFactorCodeRequired, SecondFactorCodeField, useWantsSecondFactorCode, withCode } from "~/components/second-factor-code-field";
import { api } from "~/trpc/react";

/** The server asked for the password again before a sensitive action (FORBIDDEN, reason reauth_required). */
export function isReauthRequired(error: unknown): boolean {
  return (error as { data?: { reason?: ErrorReason } } | null)?.data?.reason === "reauth_required";
}

/**
 * Runs a sensitive action; when the server wants a fresh authentication first, `field` asks for the
 * password inline (and the authenticator code when two-factor is on, as sign-in would; or offers
 * "Use a passkey" when the account has one), and the next `run` re-authenticates and tries the
 * action again.
 */
export function useReauth() {
  const [needed, setNeeded] = useState(false);
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [codeAsked, setCodeAsked] = useState(false);
  const [passkeyError, setPasskeyError] = useState<string | null>(null);
  const reauth = api.account.reauthenticate.useMutation();
  const passkeyOptions = api.passkeys.reauthOptions.useMutation();
  const passkeys = api.passkeys.list.useQuery(undefined, { enabled: needed });
  const wantsCode = useWantsSecondFactorCode(needed, codeAsked);
  const lastAction = useRef<(() => Promise<unknown>) | null>(null);

  async function run(action: () => Promise<unknown>) {
    lastAction.current = action;
    try {
      if (needed) {
        await reauth.mutateAsync({ password, ...withCode(code) });
        setNeeded(false);
        setPassword("");
        setCode("");
        setCodeAsked(false);
      }
      await action();
    } catch (error) {
      // The mutations show their own errors; this only notices that a password (or a code) is wanted.
      if (isReauthRequired(error)) setNeeded(true);
      if (isSecondFactorCodeRequired(error)) setCodeAsked(true);
    }
  }

  async function withPasskey() {
    setPasskeyError(null);
    try {
      const optionsJSON = await passkeyOptions.mutateAsync();
      const response = await startAuthentication({ optionsJSON });
      await reauth.mutateAsync({ passkey: response as Extract<Parameters<typeof reauth.mutateAsync>[0], { passkey: unknown }>["passkey"] });
      setNeeded(false);
      setPassword("");
      setCode("");
      setCodeAsked(false);
    } catch (error) {
      setPasskeyError(passkeyFailure(error));
      return;
    }
    try {
      await lastAction.current?.();
    } catch (error) {
      if (isReauthRequired(error)) setNeeded(true);
    }
  }

  const canUsePasskey = needed && (passkeys.data?.length ?? 0) > 0 && typeof window !== "undefined" && browserSupportsWebAuthn();
  const busy = reauth.isPending || passkeyOptions.isPending;
  const field = needed ? (
    <div className="space-y-2">
      <PasswordField label="Your password" value={password} onChange={setPassword} autoFocus />
      {wantsCode && <SecondFactorCodeField value={code} onChange={setCode} />}
      {canUsePasskey && (
        <button
          type="button"
          onClick={() => void withPasskey()}
          disabled={busy}
          className="rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 shadow-xs hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-600 disabled:opacity-60"
        >
          Use a passkey instead
        </button>
      )}
    </div>
  ) : null;

  return { run, field, needed, busy, error: passkeyError ?? reauth.error?.message ?? null };
}
