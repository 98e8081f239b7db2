import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { ControlCenter } from "~/components/dashboard/control-center";
import { currentSession } from "~/trpc/server";

export const metadata: Metadata = { title: "Dashboard" };
export const dynamic = "force-dynamic";

export default async function DashboardPage() {
  const me = await currentSession();
  if (!me) redirect("/login?reason=expired");
  return <ControlCenter email={me.user.email} sessionId={me.session.id} />;
}
