import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Page not found" };

/** Any unknown path (and notFound() from a page), inside the app's own layout. */
export default function NotFound() {
  return (
    <div className="mx-auto w-full max-w-sm text-center">
      <p className="text-sm font-semibold tracking-wide text-brand-700">404</p>
      <h1 className="mt-2 text-2xl font-semibold tracking-tight">Page not found</h1>
      <p className="mt-2 text-sm text-slate-600">
        This address does not lead anywhere in Handoff. If you followed a sign-in link or a QR code, it may have been mistyped.
      </p>
      <div className="mt-6 rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6">
        <Link href="/" className="block w-full rounded-lg bg-brand-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-brand-700">
          Go to Handoff
        </Link>
        <p className="mt-3 text-xs text-slate-500">Takes you to your dashboard, or to sign in.</p>
      </div>
    </div>
  );
}
