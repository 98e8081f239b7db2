import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import { env } from "~/env";

const globalForMetrics = globalThis as unknown as { handoffEventLoop?: IntervalHistogram };

/** With METRICS_ENABLED=true, samples the event loop's delay (for the benchmarks). */
export function startEventLoopMonitor() {
  if (!env().METRICS_ENABLED || globalForMetrics.handoffEventLoop) return;
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  globalForMetrics.handoffEventLoop = histogram;
}

/** Event-loop delay since the last reset, in milliseconds; null when metrics are off. */
export function eventLoopDelay(reset: boolean) {
  const h = globalForMetrics.handoffEventLoop;
  if (!h) return null;
  const stats = { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, mean: h.mean / 1e6 };
  if (reset) h.reset();
  return stats;
}
