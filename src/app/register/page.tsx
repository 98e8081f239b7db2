import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthForm } from "~/components/auth-form";
import { currentSession } from "~/trpc/server";

export const metadata: Metadata = { title: "Create account" };
export const dynamic = "force-dynamic";

export default async function RegisterPage() {
  if (await currentSession()) redirect("/dashboard");
  return <AuthForm mode="register" />;
}
