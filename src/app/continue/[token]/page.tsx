import type { Metadata } from "next";
import { ClaimOffer } from "~/components/handoff/claim-offer";

// The URL carries a one-time token: never send it on as a referrer.
export const metadata: Metadata = { title: "Continue on this device", referrer: "no-referrer" };
export const dynamic = "force-dynamic";

export default async function ContinuePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  return (
    <div className="mx-auto w-full max-w-md space-y-5">
      <h1 className="text-2xl font-semibold tracking-tight">Continue on this device</h1>
      <ClaimOffer token={token} />
    </div>
  );
}
