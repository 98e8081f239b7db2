"use client";

import { useState } from "react";
import type { ErrorReason } from "~/server/platform/errors";
import { PasswordField } from "~/components/password-field";
import { api } from "~/trpc/react";

/** The server asked for the password again before a sensitive action (FORBIDDEN, reason reauth_required). */
export function isReauthRequired(error: unknown): boolean {
  return (error as { data?: { reason?: ErrorReason } } | null)?.data?.reason === "reauth_required";
}

/**
 * Runs a sensitive action; when the server wants a fresh password first, `field` asks for it
 * inline, and the next `run` re-authenticates and tries the action again.
 */
export function useReauth() {
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

  const field = needed ? <PasswordField label="Your password" value={password} onChange={setPassword} autoFocus /> : null;

  return { run, field, needed, busy: reauth.isPending, error: reauth.error?.message ?? null };
}
