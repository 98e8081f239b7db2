import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthForm } from "~/components/auth-form";
import { currentSession } from "~/trpc/server";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

const NOTICES: Record<string, string> = {
  signed_out: "You have signed out.",
  expired: "Your session has ended. Please sign in again.",
  revoked: "This session was ended from another device.",
  evicted: "This session was ended because a new sign-in went over your session limit.",
  locked_out: "Emergency lockout: every session of your account was ended. Sign in again when you are ready.",
};

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ reason?: string }> }) {
  if (await currentSession()) redirect("/dashboard");
  const { reason } = await searchParams;
  const notice = reason ? NOTICES[reason] : undefined;
  return <AuthForm mode="login" notice={notice} />;
}
