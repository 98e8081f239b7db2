import type { Metadata } from "next";
import Link from "next/link";
import { cardClass, ResetForm } from "~/components/account/reset-forms";
import { checkResetLink } from "~/server/account/password-reset";
import { getServices } from "~/server/services";

// The URL carries a one-time secret: never sent to another site as a referrer (see security-headers.ts).
export const metadata: Metadata = { title: "Choose a new password", referrer: "same-origin" };
export const dynamic = "force-dynamic";

export default async function ResetPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  // Only looks: the link is used up when the form is sent.
  const link = await checkResetLink(await getServices(), token);
  return (
    <div className="mx-auto w-full max-w-sm">
      <h1 className="text-2xl font-semibold tracking-tight">Choose a new password</h1>
      <div className="mt-6">
        {link.ok ? (
          <ResetForm token={token} />
        ) : (
          <div role="alert" className={cardClass} data-testid="link-invalid">
            <p className="text-sm text-slate-800">
              {link.why === "expired"
                ? "This link has expired."
                : "This link does not work: it was already used, a newer one was sent, or it was copied incompletely."}
            </p>
            <Link href="/forgot" className="inline-block rounded-lg bg-brand-600 px-4 py-2 text-sm font-semibold text-white hover:bg-brand-700">
              Ask for a new link
            </Link>
          </div>
        )}
      </div>
    </div>
  );
}
