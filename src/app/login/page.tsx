import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { LoginTabs } from "~/components/login-tabs";
import { formErrorMessage } from "~/lib/form-errors";
import { safeNextPath } from "~/lib/next-path";
import { currentSession } from "~/trpc/server";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

const NOTICES: Record<string, string> = {
  signed_out: "You have signed out.",
  expired: "Your session has ended. Please sign in again.",
  revoked: "This session was ended from another device.",
  evicted: "This session was ended because a new sign-in went over your session limit.",
  locked_out: "Emergency lockout: every session of your account was ended and every device must be approved again. Sign in again when you are ready.",
  locked_out_password_changed:
    "Emergency lockout: every session of your account was ended, every device must be approved again, and your password was changed. Sign in with the new password.",
  approve: "Sign in on this device first, then approve the other one.",
  password_changed: "Your password was changed on another device. Sign in with the new password.",
  password_reset: "Your password was reset and every device was signed out. Sign in with the new password.",
  account_deleted: "Your account was deleted.",
};

export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<{ reason?: string; next?: string | string[]; error?: string | string[]; retry?: string | string[] }>;
}) {
  const { reason, next: nextParam, error, retry } = await searchParams;
  const next = safeNextPath(nextParam);
  if (await currentSession()) redirect(next);
  const notice = reason ? NOTICES[reason] : undefined;
  return (
    <div className="mx-auto w-full max-w-sm">
      <h1 className="text-2xl font-semibold tracking-tight">Sign in to Handoff</h1>
      <p className="mt-1 text-sm text-slate-600">Every device you sign in from shows up on your dashboard.</p>
      {notice && (
        <p role="status" className="mt-4 rounded-lg border border-slate-200 bg-white px-3 py-2 text-sm text-slate-700">
          {notice}
        </p>
      )}
      <LoginTabs next={next} initialError={formErrorMessage(error, retry)} />
    </div>
  );
}
