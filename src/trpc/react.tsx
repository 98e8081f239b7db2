"use client";

import { QueryClient, QueryClientProvider, useQueryClient } from "@tanstack/react-query";
import { httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { createTRPCReact } from "@trpc/react-query";
import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import superjson from "superjson";
import type { AppRouter } from "~/server/api/root";

export const api = createTRPCReact<AppRouter>();
export type { RouterOutputs } from "./types";

/** What every form and list shows instead of the browser's "Failed to fetch". */
const UNREACHABLE_MESSAGE = "Can't reach Handoff. Check your connection and try again.";

const UNREACHABLE = "HandoffUnreachableError";

/** True when a call failed because the server could not be reached (not because it said no). */
function isUnreachable(error: unknown): boolean {
  for (let e = error as { name?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 4; depth++) {
    if (e.name === UNREACHABLE) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/**
 * Whether the server is reachable, as the last request found it. Kept outside React so the fetch
 * wrapper (which runs outside components) can update it and the banner can subscribe to it.
 */
function createConnectivity() {
  let unreachable = false;
  const listeners = new Set<() => void>();
  const set = (value: boolean) => {
    if (value === unreachable) return;
    unreachable = value;
    for (const listener of listeners) listener();
  };
  return {
    set,
    get: () => unreachable,
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** fetch, with network failures (and a proxy's non-JSON 502-504) turned into one clear error. */
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      let response: Response;
      try {
        response = await fetch(input, init);
      } catch (cause) {
        // Our own abort (a page left, a query cancelled) is not a network failure.
        if (init?.signal?.aborted) throw cause;
        set(true);
        throw Object.assign(new Error(UNREACHABLE_MESSAGE, { cause }), { name: UNREACHABLE });
      }
      const json = (response.headers.get("content-type") ?? "").includes("application/json");
      if (response.status >= 502 && response.status <= 504 && !json) {
        set(true);
        throw Object.assign(new Error(UNREACHABLE_MESSAGE), { name: UNREACHABLE });
      }
      set(false);
      return response;
    }) as typeof fetch,
  };
}

type Connectivity = ReturnType<typeof createConnectivity>;

const subscribeOnline = (listener: () => void) => {
  window.addEventListener("online", listener);
  window.addEventListener("offline", listener);
  return () => {
    window.removeEventListener("online", listener);
    window.removeEventListener("offline", listener);
  };
};

const PROBE_FIRST_MS = 2_000;
const PROBE_MAX_MS = 15_000;

/**
 * "Can't reach Handoff — retrying…" while the server cannot be reached: a polite live region that
 * probes /api/health with backoff, and once it answers refetches what failed and goes away.
 */
function ConnectivityBanner({ connectivity }: { connectivity: Connectivity }) {
  const queryClient = useQueryClient();
  const unreachable = useSyncExternalStore(connectivity.subscribe, connectivity.get, () => false);
  const browserOffline = useSyncExternalStore(
    subscribeOnline,
    () => !navigator.onLine,
    () => false,
  );
  const down = unreachable || browserOffline;

  const retry = useCallback(async () => {
    try {
      const response = await connectivity.fetch("/api/health", { cache: "no-store" });
      if (!response.ok) return false;
    } catch {
      return false;
    }
    await queryClient.refetchQueries({ type: "active", predicate: (query) => query.state.status === "error" });
    return true;
  }, [connectivity, queryClient]);

  useEffect(() => {
    if (!down) return;
    let wait = PROBE_FIRST_MS;
    let timer: ReturnType<typeof setTimeout>;
    let stopped = false;
    const probe = async () => {
      if (stopped || (await retry())) return;
      wait = Math.min(wait * 2, PROBE_MAX_MS);
      if (!stopped) timer = setTimeout(() => void probe(), wait);
    };
    timer = setTimeout(() => void probe(), wait);
    // Back on the network: try at once rather than at the next probe.
    const onOnline = () => void probe();
    window.addEventListener("online", onOnline);
    return () => {
      stopped = true;
      clearTimeout(timer);
      window.removeEventListener("online", onOnline);
    };
  }, [down, retry]);

  return (
    // Always in the DOM (empty while all is well), so screen readers announce the text when it appears.
    <div aria-live="polite" className="pointer-events-none fixed inset-x-0 bottom-0 z-50 flex justify-center p-4">
      {down && (
        <div
          data-testid="offline-notice"
          className="pointer-events-auto flex w-full max-w-md items-center gap-3 rounded-xl border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-950 shadow-lg"
        >
          <span aria-hidden className="inline-block h-2.5 w-2.5 shrink-0 animate-pulse rounded-full bg-amber-500" />
          <p>
            <strong className="font-semibold">Can&apos;t reach Handoff</strong> <span className="whitespace-nowrap">— retrying…</span>
            <span className="block text-amber-900/80">{browserOffline ? "This device is offline." : "Check your connection, or wait a moment."}</span>
          </p>
          <button
            type="button"
            onClick={() => void retry()}
            className="ml-auto shrink-0 rounded-lg border border-amber-400 bg-white px-3 py-1.5 font-medium text-amber-950 hover:bg-amber-100"
          >
            Retry now
          </button>
        </div>
      )}
    </div>
  );
}

export function TRPCReactProvider({ children }: { children: React.ReactNode }) {
  const [connectivity] = useState(createConnectivity);
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          // Reads are retried while the server cannot be reached (the banner says so); other errors are final.
          queries: { staleTime: 5_000, retry: (failures, error) => isUnreachable(error) && failures < 3 },
          // Never replayed later on their own (a sign-in or a revoke must not fire minutes after the
          // click), and never paused while the browser is offline: they fail at once with UNREACHABLE_MESSAGE.
          mutations: { retry: false, networkMode: "always" },
        },
      }),
  );
  const [trpcClient] = useState(() =>
    api.createClient({
      links: [
        // Subscriptions (live session events) over Server-Sent Events, everything else batched.
        splitLink({
          condition: (op) => op.type === "subscription",
          true: httpSubscriptionLink({ url: "/api/trpc", transformer: superjson }),
          // The server refuses batches of more than 10 calls (src/server/api/http-handler.ts).
          false: httpBatchLink({ url: "/api/trpc", transformer: superjson, fetch: connectivity.fetch, maxItems: 10 }),
        }),
      ],
    }),
  );
  return (
    <api.Provider client={trpcClient} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        {children}
        <ConnectivityBanner connectivity={connectivity} />
      </QueryClientProvider>
    </api.Provider>
  );
}
