import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthForm } from "~/components/auth-form";
import { formErrorMessage } from "~/lib/form-errors";
import { safeNextPath } from "~/lib/next-path";
import { currentSession } from "~/trpc/server";

export const metadata: Metadata = { title: "Create account" };
export const dynamic = "force-dynamic";

export default async function RegisterPage({
  searchParams,
}: {
  searchParams: Promise<{ next?: string | string[]; error?: string | string[]; retry?: string | string[] }>;
}) {
  const { next: nextParam, error, retry } = await searchParams;
  const next = safeNextPath(nextParam);
  if (await currentSession()) redirect(next);
  return (
    <div className="mx-auto w-full max-w-sm">
      <h1 className="text-2xl font-semibold tracking-tight">Create your account</h1>
      <p className="mt-1 text-sm text-slate-600">Use at least 8 characters. A passphrase works well.</p>
      <div className="mt-6">
        <AuthForm mode="register" next={next} initialError={formErrorMessage(error, retry)} />
      </div>
    </div>
  );
}
