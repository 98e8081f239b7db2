/**
 * Resolves after `ms`, or at once when the signal aborts (a closed subscription stops waiting).
 * The abort listener is removed when the timer fires: a subscription sleeps on the same signal
 * once per poll, and a listener left behind each time grows without bound (Node warns at 11).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
