"use client";

import { useState } from "react";

const pageButton = "rounded-lg border border-slate-300 bg-white px-3 py-1.5 font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-50";

/** Cursor paging of a newest-first list: the cursor of the page shown, and the way back. */
export function useCursorPages() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return {
    cursor: cursors[cursors.length - 1] ?? null,
    page: cursors.length,
    newer: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    older: (next: string) => setCursors((c) => [...c, next]),
  };
}

/** "Newer · Page N · Older" under a cursor-paged list. */
export function Pager({ label, pages, nextCursor }: { label: string; pages: ReturnType<typeof useCursorPages>; nextCursor: string | null | undefined }) {
  return (
    <nav aria-label={label} className="flex items-center justify-between gap-3 text-sm">
      <button type="button" onClick={pages.newer} disabled={pages.page === 1} className={pageButton}>
        Newer
      </button>
      <span className="text-slate-500">Page {pages.page}</span>
      <button type="button" onClick={() => nextCursor && pages.older(nextCursor)} disabled={!nextCursor} className={pageButton}>
        Older
      </button>
    </nav>
  );
}
