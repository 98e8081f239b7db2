import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { ResendVerification } from "~/components/account/verify-forms";
import { SignOutButton } from "~/components/sign-out-button";
import { getServices } from "~/server/services";
import { currentSession } from "~/trpc/server";

export const metadata: Metadata = { title: "Check your inbox" };
export const dynamic = "force-dynamic";

// Where an unverified account lands with EMAIL_VERIFICATION=required (the dashboard sends it here);
// with `optional` it is only reached by its address, and says so without the threat.
export default async function CheckInboxPage() {
  const me = await currentSession();
  if (!me) redirect("/login");
  if (me.user.emailVerified) redirect("/dashboard");
  const required = (await getServices()).policy.emailVerification === "required";
  return (
    <div className="mx-auto w-full max-w-md space-y-5">
      <h1 className="text-2xl font-semibold tracking-tight">Check your inbox</h1>
      <div className="space-y-4 rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6" data-testid="check-inbox">
        <p className="text-sm text-slate-800">
          We sent a link to <strong className="font-semibold wrap-anywhere">{me.user.email}</strong>. Open it to confirm the address is yours
          {required ? ": until then this account cannot be used." : ", so security alerts and password resets reach you."}
        </p>
        <p className="text-sm text-slate-600">Nothing arrived? Look in the spam folder, or ask for a new link (the previous one then stops working).</p>
        <ResendVerification />
      </div>
      <SignOutButton />
    </div>
  );
}
