import type { Metadata } from "next";
import Link from "next/link";
import { cardClass } from "~/components/account/reset-forms";
import { VerifyForm } from "~/components/account/verify-forms";
import { checkVerifyLink } from "~/server/account/email-verification";
import { getServices } from "~/server/services";

// The URL carries a one-time secret: never sent to another site as a referrer (see security-headers.ts).
export const metadata: Metadata = { title: "Confirm your email address", referrer: "same-origin" };
export const dynamic = "force-dynamic";

export default async function VerifyLinkPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  // Only looks: the link is used by the button (a mail scanner following it changes nothing).
  const link = await checkVerifyLink(await getServices(), token);
  return (
    <div className="mx-auto w-full max-w-sm">
      <h1 className="text-2xl font-semibold tracking-tight">Confirm your email address</h1>
      <div className="mt-6">
        {link.ok ? (
          <VerifyForm token={token} kind={link.kind} sentTo={link.sentTo} />
        ) : (
          <div role="alert" className={cardClass} data-testid="link-invalid">
            <p className="text-sm text-slate-800">
              {link.why === "expired"
                ? "This link has expired."
                : "This link does not work: it was already used, a newer one was sent, or it was copied incompletely."}
            </p>
            <Link href="/dashboard" className="inline-block rounded-lg bg-brand-600 px-4 py-2 text-sm font-semibold text-white hover:bg-brand-700">
              Ask for a new one on your dashboard
            </Link>
          </div>
        )}
      </div>
    </div>
  );
}
