import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SecondFactorForm } from "~/components/second-factor-form";
import { formErrorMessage } from "~/lib/form-errors";
import { safeNextPath } from "~/lib/next-path";
import { currentSession } from "~/trpc/server";

export const metadata: Metadata = { title: "Two-factor authentication" };
export const dynamic = "force-dynamic";

const CHALLENGE_ID = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * The second step of a sign-in posted without JavaScript (src/app/api/form): the sign-in form's
 * redirect lands here with the challenge id; its cookie stays in the browser that asked.
 */
export default async function SecondFactorPage({
  searchParams,
}: {
  searchParams: Promise<{ challenge?: string | string[]; next?: string | string[]; error?: string | string[]; retry?: string | string[] }>;
}) {
  const { challenge, next: nextParam, error, retry } = await searchParams;
  const next = safeNextPath(nextParam);
  if (await currentSession()) redirect(next);
  const challengeId = Array.isArray(challenge) ? challenge[0] : challenge;
  if (!challengeId || !CHALLENGE_ID.test(challengeId)) redirect("/login?error=second_factor_expired");
  return (
    <div className="mx-auto w-full max-w-sm">
      <h1 className="text-2xl font-semibold tracking-tight">Sign in to Handoff</h1>
      <p className="mt-1 text-sm text-slate-600">Your password was right. One more step.</p>
      <div className="mt-6">
        <SecondFactorForm challengeId={challengeId} next={next} initialError={formErrorMessage(error, retry)} />
      </div>
    </div>
  );
}
