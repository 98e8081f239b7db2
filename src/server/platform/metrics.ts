import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import { env } from "~/env";

// The histogram times each tick of a timer firing every RESOLUTION_MS, so an idle loop reads
// ~RESOLUTION_MS: that interval is taken off, leaving the delay itself.
const RESOLUTION_MS = 10;

const globalForMetrics = globalThis as unknown as { handoffEventLoop?: IntervalHistogram };

/** With METRICS_ENABLED=true, samples the event loop's delay (for the benchmarks). */
export function startEventLoopMonitor() {
  if (!env().METRICS_ENABLED || globalForMetrics.handoffEventLoop) return;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  globalForMetrics.handoffEventLoop = histogram;
}

/** Event-loop delay since the last reset, in milliseconds; null when metrics are off. */
export function eventLoopDelay(reset: boolean) {
  const h = globalForMetrics.handoffEventLoop;
  if (!h) return null;
  const delay = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  const stats = { p50: delay(h.percentile(50)), p99: delay(h.percentile(99)), max: delay(h.max), mean: delay(h.mean) };
  if (reset) h.reset();
  return stats;
}
