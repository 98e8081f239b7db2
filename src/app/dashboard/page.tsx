import type { Metadata } from "next";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { ControlCenter } from "~/components/dashboard/control-center";
import { VerifyBanner } from "~/components/account/verify-forms";
import { sessionCookieName } from "~/server/platform/cookies";
import { getServices } from "~/server/services";
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
  // The feed's position before the page's queries run: the live subscription starts from it, so an
  // event between those queries and the subscription's start (a sign-in waiting for approval) is
  // replayed rather than lost.
  const services = await getServices();
  // EMAIL_VERIFICATION=required: an unverified account reaches only "check your inbox".
  if (!me.user.emailVerified && services.policy.emailVerification === "required") redirect("/verify");
  const liveFrom = await services.events.currentSeq(me.user.id);
  return (
    <>
      <noscript>
        <p role="alert" className="mx-auto mb-6 max-w-5xl rounded-xl border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900">
          The dashboard needs JavaScript to show and manage your devices and sessions. Turn JavaScript on for this site and reload.
        </p>
      </noscript>
      {!me.user.emailVerified && (
        <div className="mb-6">
          <VerifyBanner email={me.user.email} />
        </div>
      )}
      <ControlCenter email={me.user.email} sessionId={me.session.id} liveFrom={liveFrom} />
    </>
  );
}
