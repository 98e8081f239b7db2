import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { DeviceIcon } from "~/components/device-icon";
import { SignOutButton } from "~/components/sign-out-button";
import { currentSession, serverApi } from "~/trpc/server";

export const metadata: Metadata = { title: "Dashboard" };
export const dynamic = "force-dynamic";

function formatDate(date: Date) {
  return new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }).format(date) + " UTC";
}

export default async function DashboardPage() {
  const me = await currentSession();
  if (!me) redirect("/login?reason=expired");
  const device = await (await serverApi()).devices.current();
  const { session } = me;

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Your devices</h1>
          <p className="mt-1 text-sm text-slate-600">
            Signed in as <span className="font-medium wrap-anywhere text-slate-900" data-testid="user-email">{me.user.email}</span>
          </p>
        </div>
        <SignOutButton />
      </div>

      <section aria-labelledby="this-device" className="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6">
        <div className="flex items-start gap-4">
          <span className="grid h-12 w-12 shrink-0 place-items-center rounded-xl bg-brand-50 text-brand-700">
            <DeviceIcon type={device.deviceType} className="h-7 w-7" />
          </span>
          <div className="min-w-0 flex-1">
            <div className="flex flex-wrap items-center gap-2">
              <h2 id="this-device" className="text-lg font-semibold" data-testid="device-name">
                {device.name}
              </h2>
              <span className="rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-emerald-200">This device</span>
            </div>
            <p className="text-sm text-slate-600">
              {[device.browser, device.os, device.deviceType].filter(Boolean).join(" · ")} · IP {device.ip}
            </p>
          </div>
        </div>
        <dl className="mt-5 grid gap-x-6 gap-y-3 text-sm sm:grid-cols-2">
          <div>
            <dt className="text-slate-500">Signed in</dt>
            <dd className="font-medium">{formatDate(session.createdAt)} · {session.method}</dd>
          </div>
          <div>
            <dt className="text-slate-500">Last activity</dt>
            <dd className="font-medium">{formatDate(session.lastSeenAt)}</dd>
          </div>
          <div>
            <dt className="text-slate-500">Ends when idle until</dt>
            <dd className="font-medium">{formatDate(session.idleExpiresAt)}</dd>
          </div>
          <div>
            <dt className="text-slate-500">Ends at the latest</dt>
            <dd className="font-medium">{formatDate(session.absoluteExpiresAt)}</dd>
          </div>
        </dl>
      </section>
    </div>
  );
}
