"use client";

import { useId, useState } from "react";
import { api } from "~/trpc/react";

/** The server asked for the password again before a sensitive action (FORBIDDEN, reason reauth_required). */
export function isReauthRequired(error: unknown): boolean {
  return (error as { data?: { reason?: string } } | null)?.data?.reason === "reauth_required";
}

/**
 * Runs a sensitive action; when the server wants a fresh password first, `field` asks for it
 * inline, and the next `run` re-authenticates and tries the action again.
 */
export function useReauth() {
  const id = useId();
  const [needed, setNeeded] = useState(false);
  const [password, setPassword] = useState("");
  const reauth = api.account.reauthenticate.useMutation();

  async function run(action: () => Promise<unknown>) {
    try {
      if (needed) {
        await reauth.mutateAsync({ password });
        setNeeded(false);
        setPassword("");
      }
      await action();
    } catch (error) {
      // The mutations show their own errors; this only notices that a password is wanted.
      if (isReauthRequired(error)) setNeeded(true);
    }
  }

  const field = needed ? (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        Your password
      </label>
      <input
        id={id}
        type="password"
        autoComplete="current-password"
        autoFocus
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        className="w-full rounded-lg border border-slate-300 px-3 py-2 text-sm focus:border-brand-500 focus:outline-none"
      />
    </div>
  ) : null;

  return { run, field, needed, busy: reauth.isPending, error: reauth.error?.message ?? null };
}
