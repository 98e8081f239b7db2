"use client";

import { useState } from "react";
import { formatDateTime, timeAgo } from "~/lib/time";
import { api } from "~/trpc/react";

const PAGE = 10;

const outcomeStyle: Record<string, string> = {
  success: "bg-emerald-50 text-emerald-700 ring-emerald-200",
  failure: "bg-red-50 text-red-700 ring-red-200",
  blocked: "bg-amber-50 text-amber-800 ring-amber-200",
};

const reasonLabel: Record<string, string> = {
  wrong_password: "wrong password",
  unknown_email: "unknown email",
  session_limit: "session limit reached",
  account_throttled: "too many failed attempts",
};

const suspiciousLabel: Record<string, string> = {
  impossible_travel: "impossible travel",
  new_device_new_country: "new device, new country",
};

export function HistoryTable({ now }: { now: number }) {
  // Cursors of the pages visited so far: Back pops one, Next pushes the page's nextCursor.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const history = api.sessions.history.useQuery({ cursor, limit: PAGE }, { placeholderData: (previous) => previous });
  const page = cursors.length;

  return (
    <section aria-labelledby="history-heading" className="space-y-3">
      <h2 id="history-heading" className="text-lg font-semibold">
        Sign-in history
      </h2>
      <div className="overflow-x-auto rounded-2xl border border-slate-200 bg-white shadow-sm">
        <table className="w-full min-w-[40rem] text-left text-sm" data-testid="history-table">
          <caption className="sr-only">Sign-in attempts on your account, newest first</caption>
          <thead className="border-b border-slate-200 bg-slate-50 text-xs tracking-wide text-slate-500 uppercase">
            <tr>
              <th scope="col" className="px-4 py-2.5 font-medium">Result</th>
              <th scope="col" className="px-4 py-2.5 font-medium">Method</th>
              <th scope="col" className="px-4 py-2.5 font-medium">Device</th>
              <th scope="col" className="px-4 py-2.5 font-medium">IP and place</th>
              <th scope="col" className="px-4 py-2.5 font-medium">When</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {history.data?.items.map((e) => (
              <tr key={e.id} data-testid="history-row" data-outcome={e.outcome}>
                <td className="px-4 py-2.5">
                  <span className={`rounded-full px-2 py-0.5 text-xs font-medium ring-1 ${outcomeStyle[e.outcome] ?? ""}`}>{e.outcome}</span>
                  {e.reason && <span className="ml-2 text-xs text-slate-500">{reasonLabel[e.reason] ?? e.reason.replaceAll("_", " ")}</span>}
                  {e.suspicious && (
                    <span className="ml-2 rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-900 ring-1 ring-amber-300" data-testid="suspicious-badge">
                      suspicious: {suspiciousLabel[e.suspicious] ?? e.suspicious.replaceAll("_", " ")}
                    </span>
                  )}
                </td>
                <td className="px-4 py-2.5 text-slate-700">{e.method}</td>
                <td className="px-4 py-2.5 text-slate-700">{e.device.name}</td>
                <td className="px-4 py-2.5 text-slate-700">
                  {e.ip} · {e.location}
                </td>
                <td className="px-4 py-2.5 text-slate-700" title={formatDateTime(e.createdAt)}>
                  {timeAgo(e.createdAt, now)}
                </td>
              </tr>
            ))}
            {history.data?.items.length === 0 && (
              <tr>
                <td colSpan={5} className="px-4 py-6 text-center text-slate-500">
                  No sign-ins yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {history.error && (
        <p role="alert" className="text-sm text-red-700">
          {history.error.message}
        </p>
      )}
      <nav aria-label="Sign-in history pages" className="flex items-center justify-between gap-3 text-sm">
        <button
          type="button"
          onClick={() => setCursors((c) => c.slice(0, -1))}
          disabled={page === 1}
          className="rounded-lg border border-slate-300 bg-white px-3 py-1.5 font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-50"
        >
          Newer
        </button>
        <span className="text-slate-500">Page {page}</span>
        <button
          type="button"
          onClick={() => history.data?.nextCursor && setCursors((c) => [...c, history.data!.nextCursor])}
          disabled={!history.data?.nextCursor}
          className="rounded-lg border border-slate-300 bg-white px-3 py-1.5 font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-50"
        >
          Older
        </button>
      </nav>
    </section>
  );
}
