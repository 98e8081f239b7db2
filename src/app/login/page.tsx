import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthForm } from "~/components/auth-form";
import { currentSession } from "~/trpc/server";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ reason?: string }> }) {
  if (await currentSession()) redirect("/dashboard");
  const { reason } = await searchParams;
  const notice =
    reason === "signed_out" ? "You have signed out." : reason === "expired" ? "Your session has ended. Please sign in again." : undefined;
  return <AuthForm mode="login" notice={notice} />;
}
