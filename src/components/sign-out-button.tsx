"use client";

import { useRouter } from "next/navigation";
import { api } from "~/trpc/react";

export function SignOutButton() {
  const router = useRouter();
  const logout = api.auth.logout.useMutation({
    onSuccess: () => router.replace("/login?reason=signed_out"),
  });
  return (
    <div className="flex flex-col items-end gap-1">
      <button
        type="button"
        onClick={() => logout.mutate()}
        disabled={logout.isPending}
        className="rounded-lg border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-800 shadow-xs hover:bg-slate-50 disabled:opacity-70"
      >
        {logout.isPending ? "Signing out…" : "Sign out"}
      </button>
      {logout.error && (
        <p role="alert" className="text-sm text-red-700">
          {logout.error.message}
        </p>
      )}
    </div>
  );
}
