"use client";

import { useId } from "react";
import type { ErrorReason } from "~/server/platform/errors";
import { api } from "~/trpc/react";

/** The server wants a code with the password (two-factor is on; BAD_REQUEST, reason second_factor_code_required). */
export const isSecondFactorCodeRequired = (error: unknown) =>
  (error as { data?: { reason?: ErrorReason } } | null)?.data?.reason === "second_factor_code_required";

/**
 * Whether a form that takes the password should also ask for a code: two-factor is on (asked while
 * `active`), or the server has just said so (`askedByServer`, e.g. it was turned on from another device).
 */
export function useWantsSecondFactorCode(active: boolean, askedByServer: boolean): boolean {
  const status = api.twoFactor.status.useQuery(undefined, { enabled: active });
  return askedByServer || status.data?.enabled === true;
}

/** `{ code }` only when one was typed: an empty field lets the server say a code is needed. */
export const withCode = (code: string) => (code.trim() ? { code: code.trim() } : {});

/** "Code from your authenticator app" next to a password field, for accounts with two-factor on. */
export function SecondFactorCodeField({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  const id = useId();
  return (
    <div>
      <label htmlFor={`${id}-code`} className="block text-sm font-medium text-slate-800">
        Code from your authenticator app
      </label>
      <input
        id={`${id}-code`}
        name="code"
        type="text"
        autoComplete="one-time-code"
        spellCheck={false}
        maxLength={32}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-describedby={`${id}-code-hint`}
        className="mt-1 block w-full max-w-xs rounded-lg border border-slate-300 px-3 py-2 font-mono text-base tracking-wider shadow-xs focus:border-brand-500 focus:outline-none"
      />
      <p id={`${id}-code-hint`} className="mt-1 text-xs text-slate-500">
        Two-factor authentication is on: the 6-digit code, or one of your recovery codes.
      </p>
    </div>
  );
}
