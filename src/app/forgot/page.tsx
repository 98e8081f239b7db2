import type { Metadata } from "next";
import Link from "next/link";
import { ForgotForm } from "~/components/account/reset-forms";

export const metadata: Metadata = { title: "Reset your password" };
export const dynamic = "force-dynamic";

export default function ForgotPage() {
  return (
    <div className="mx-auto w-full max-w-sm">
      <h1 className="text-2xl font-semibold tracking-tight">Reset your password</h1>
      <p className="mt-1 text-sm text-slate-600">
        Enter the address of your account. We email it a link to choose a new password; using it signs out every device.
      </p>
      <div className="mt-6">
        <ForgotForm />
      </div>
      <p className="mt-4 text-center text-sm text-slate-600">
        Remembered it?{" "}
        <Link href="/login" className="font-medium text-brand-700 hover:underline">
          Sign in
        </Link>
      </p>
    </div>
  );
}
