import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { ApproveRequest } from "~/components/handoff/approve-request";
import { currentSession } from "~/trpc/server";

// The URL carries a one-time token: never send it on as a referrer.
export const metadata: Metadata = { title: "Approve a sign-in", referrer: "no-referrer" };
export const dynamic = "force-dynamic";

export default async function HandoffPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  if (!(await currentSession())) redirect(`/login?reason=approve&next=${encodeURIComponent(`/handoff/${token}`)}`);
  return (
    <div className="mx-auto w-full max-w-md space-y-5">
      <h1 className="text-2xl font-semibold tracking-tight">Sign in another device?</h1>
      <ApproveRequest token={token} />
    </div>
  );
}
