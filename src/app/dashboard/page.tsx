import type { Metadata } from "next";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { ControlCenter } from "~/components/dashboard/control-center";
import { sessionCookieName } from "~/server/platform/cookies";
import { currentSession } from "~/trpc/server";

export const metadata: Metadata = { title: "Dashboard" };
export const dynamic = "force-dynamic";

export default async function DashboardPage() {
  const me = await currentSession();
  if (!me) {
    // "Your session has ended" only for a browser that had one; a first visit just signs in.
    const jar = await cookies();
    redirect(jar.has(sessionCookieName(false)) || jar.has(sessionCookieName(true)) ? "/login?reason=expired" : "/login");
  }
  return (
    <>
      <noscript>
        <p role="alert" className="mx-auto mb-6 max-w-5xl rounded-xl border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900">
          The dashboard needs JavaScript to show and manage your devices and sessions. Turn JavaScript on for this site and reload.
        </p>
      </noscript>
      <ControlCenter email={me.user.email} sessionId={me.session.id} />
    </>
  );
}
