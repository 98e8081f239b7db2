import type { Metadata } from "next";
import Link from "next/link";
import { QrScanner } from "~/components/handoff/qr-scanner";
import { currentSession } from "~/trpc/server";

export const metadata: Metadata = { title: "Scan a code" };
export const dynamic = "force-dynamic";

export default async function ScanPage() {
  const me = await currentSession();
  return (
    <div className="mx-auto w-full max-w-md space-y-5">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Scan a code</h1>
        <p className="mt-1 text-sm text-slate-600">
          {me
            ? "Signing in on another device? Scan the code it shows to approve it from here."
            : "Continuing from a device where you are signed in? Scan the code it shows."}
        </p>
      </div>
      <QrScanner />
      <p className="text-center text-sm">
        <Link href={me ? "/dashboard" : "/login"} className="font-medium text-brand-700 hover:underline">
          {me ? "Back to your devices" : "Sign in with a password instead"}
        </Link>
      </p>
    </div>
  );
}
