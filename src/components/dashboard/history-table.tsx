"use client";

import { useEffect, useRef, useState } from "react";
import { formatDateTime, timeAgo } from "~/lib/time";
import { api } from "~/trpc/react";
import { Pager, useCursorPages } from "./pager";

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

/**
 * Whether a horizontal scroller has more to show on either side, kept up to date as it scrolls or
 * resizes: the table says so (shadows, a hint) and becomes a keyboard stop only when it scrolls.
 */
function useSideScroll() {
  const ref = useRef<HTMLDivElement>(null);
  const [more, setMore] = useState({ left: false, right: false });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      const left = el.scrollLeft > 1;
      const right = el.scrollLeft + el.clientWidth < el.scrollWidth - 1;
      setMore((m) => (m.left === left && m.right === right ? m : { left, right }));
    };
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    if (el.firstElementChild) observer.observe(el.firstElementChild);
    el.addEventListener("scroll", measure, { passive: true });
    measure();
    return () => {
      observer.disconnect();
      el.removeEventListener("scroll", measure);
    };
  }, []);
  return { ref, ...more, scrolls: more.left || more.right };
}

// On a phone each attempt is a card: cells stack, each with its column's name in front (the
// header row stays for screen readers; explicit roles keep the table's meaning with display:block).
const cell =
  "max-sm:flex max-sm:gap-3 max-sm:py-0.5 sm:px-4 sm:py-2.5 max-sm:before:w-28 max-sm:before:shrink-0 max-sm:before:text-slate-500 max-sm:before:content-[attr(data-label)_/_'']";

export function HistoryTable({ now }: { now: number }) {
  const pages = useCursorPages();
  const history = api.sessions.history.useQuery({ cursor: pages.cursor, limit: PAGE }, { placeholderData: (previous) => previous });
  const side = useSideScroll();

  return (
    <section aria-labelledby="history-heading" className="space-y-3">
      <h2 id="history-heading" className="text-lg font-semibold">
        Sign-in history
      </h2>
      <div className="relative">
        <div
          ref={side.ref}
          className="overflow-x-auto rounded-2xl border border-slate-200 bg-white shadow-sm"
          // Only a scroller is a keyboard stop (arrow keys scroll it), named so it is not a mystery.
          tabIndex={side.scrolls ? 0 : undefined}
          role={side.scrolls ? "region" : undefined}
          aria-label={side.scrolls ? "Sign-in history table, scrolls sideways" : undefined}
          data-testid="history-scroller"
        >
          <table role="table" className="block w-full text-left text-sm sm:table sm:min-w-[40rem]" data-testid="history-table">
            <caption className="sr-only">Sign-in attempts on your account, newest first</caption>
            <thead role="rowgroup" className="border-b border-slate-200 bg-slate-50 text-xs tracking-wide text-slate-500 uppercase max-sm:sr-only">
              <tr role="row">
                <th role="columnheader" scope="col" className="px-4 py-2.5 font-medium">
                  Result
                </th>
                <th role="columnheader" scope="col" className="px-4 py-2.5 font-medium">
                  Method
                </th>
                <th role="columnheader" scope="col" className="px-4 py-2.5 font-medium">
                  Device
                </th>
                <th role="columnheader" scope="col" className="px-4 py-2.5 font-medium">
                  IP and place
                </th>
                <th role="columnheader" scope="col" className="px-4 py-2.5 font-medium">
                  When
                </th>
              </tr>
            </thead>
            <tbody role="rowgroup" className="divide-y divide-slate-100 max-sm:block">
              {history.data?.items.map((e) => (
                <tr role="row" key={e.id} className="max-sm:block max-sm:px-4 max-sm:py-3" data-testid="history-row" data-outcome={e.outcome}>
                  <td role="cell" className="max-sm:flex max-sm:flex-wrap max-sm:items-center max-sm:gap-y-1 max-sm:pb-1.5 sm:px-4 sm:py-2.5">
                    <span className={`rounded-full px-2 py-0.5 text-xs font-medium ring-1 ${outcomeStyle[e.outcome] ?? ""}`}>{e.outcome}</span>
                    {e.reason && <span className="ml-2 text-xs text-slate-500">{reasonLabel[e.reason] ?? e.reason.replaceAll("_", " ")}</span>}
                    {e.suspicious && (
                      <span
                        className="ml-2 rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-900 ring-1 ring-amber-300"
                        data-testid="suspicious-badge"
                      >
                        suspicious: {suspiciousLabel[e.suspicious] ?? e.suspicious.replaceAll("_", " ")}
                      </span>
                    )}
                  </td>
                  <td role="cell" data-label="Method" className={`${cell} text-slate-700`}>
                    {e.method}
                  </td>
                  <td role="cell" data-label="Device" className={`${cell} text-slate-700`}>
                    <bdi className="min-w-0 wrap-anywhere">{e.device.name}</bdi>
                  </td>
                  <td role="cell" data-label="IP and place" className={`${cell} text-slate-700`}>
                    <span className="min-w-0 wrap-anywhere">
                      {e.ip} · {e.location}
                    </span>
                  </td>
                  <td role="cell" data-label="When" className={`${cell} text-slate-700`} title={formatDateTime(e.createdAt)}>
                    {timeAgo(e.createdAt, now)}
                  </td>
                </tr>
              ))}
              {history.data?.items.length === 0 && (
                <tr role="row" className="max-sm:block">
                  <td role="cell" colSpan={5} className="px-4 py-6 text-center text-slate-500 max-sm:block">
                    No sign-ins yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        {/* Shadows on the edges that have more to scroll to. */}
        {side.left && (
          <div aria-hidden className="pointer-events-none absolute inset-y-px left-px w-6 rounded-l-2xl bg-linear-to-r from-slate-900/10 to-transparent" />
        )}
        {side.right && (
          <div aria-hidden className="pointer-events-none absolute inset-y-px right-px w-6 rounded-r-2xl bg-linear-to-l from-slate-900/10 to-transparent" />
        )}
      </div>
      {side.scrolls && (
        <p className="text-xs text-slate-500" data-testid="history-scroll-hint">
          The table scrolls sideways: swipe it, or focus it and use the arrow keys.
        </p>
      )}
      {history.error && (
        <p role="alert" className="text-sm text-red-700">
          {history.error.message}
        </p>
      )}
      <Pager label="Sign-in history pages" pages={pages} nextCursor={history.data?.nextCursor} />
    </section>
  );
}
