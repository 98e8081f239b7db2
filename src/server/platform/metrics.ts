import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Redis } from "@upstash/redis";
import { env } from "~/env";

// Prometheus metrics (prom-client), served at /api/metrics with METRICS_TOKEN. Next.js compiles
// route handlers and pages into separate bundles, each with its own copy of every module (and of
// prom-client's default registry): the registry and its metrics live on globalThis under a
// Symbol.for key, so counts made by the tRPC route are the ones the metrics route serves.

function build() {
  const registry = new Registry();
  // Process CPU, memory, GC, handles and event-loop delay (nodejs_eventloop_lag_*), all prefixed nodejs_/process_.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requestDuration: new Histogram({
      name: "handoff_request_duration_seconds",
      help: "tRPC calls by procedure and result code (OK or the tRPC error code); a subscription until its stream starts.",
      labelNames: ["procedure", "code"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    signIns: new Counter({
      name: "handoff_sign_ins_total",
      help: "Sign-in attempts written to the history, by outcome (success, failure, blocked) and method (password, qr, approval, token).",
      labelNames: ["outcome", "method"] as const,
      registers,
    }),
    activeSessions: new Gauge({
      name: "handoff_active_sessions",
      help: "Live sessions in Redis (cookie and token) for the whole deployment, counted by a SCAN at most every 30 s; every instance reports the same number: aggregate with max(), not sum().",
      registers,
    }),
    revocations: new Counter({
      name: "handoff_session_revocations_total",
      help: "Sessions ended before their time, by reason (revoked, revoked_others, evicted, device_forgotten, signed_out, password_changed, token_reuse, lockout).",
      labelNames: ["reason"] as const,
      registers,
    }),
    approvals: new Counter({
      name: "handoff_approvals_total",
      help: "New-device approval steps by outcome (requested, confirmed, wrong_code, denied).",
      labelNames: ["outcome"] as const,
      registers,
    }),
    handoffs: new Counter({
      name: "handoff_qr_handoffs_total",
      help: "QR handoff steps by outcome (approved, denied, completed, cancelled).",
      labelNames: ["outcome"] as const,
      registers,
    }),
    securityEvents: new Counter({
      name: "handoff_security_events_total",
      help: "Security events written to the SecurityEvent table, by type.",
      labelNames: ["type"] as const,
      registers,
    }),
    rateLimitHits: new Counter({
      name: "handoff_rate_limit_hits_total",
      help: "Requests refused by a rate limit, by limit (signin:ip, register:ip, handoff:ip, handoff:user, approval:user, tokens-from-session:user, ...; live-streams:session and live-streams:address for refused live streams).",
      labelNames: ["limit"] as const,
      registers,
    }),
    throttleHits: new Counter({
      name: "handoff_throttle_hits_total",
      help: "Password checks told to wait, by reason (too_many_failures, attempts_in_flight, network_busy).",
      labelNames: ["reason"] as const,
      registers,
    }),
    backendErrors: new Counter({
      name: "handoff_backend_errors_total",
      help: "Requests that failed because a backing service was unreachable, by service (redis, postgres).",
      labelNames: ["service"] as const,
      registers,
    }),
    openSubscriptions: new Gauge({
      name: "handoff_open_subscriptions",
      help: "Open server-sent event streams (tRPC subscriptions), by procedure.",
      labelNames: ["procedure"] as const,
      registers,
    }),
    livePush: new Gauge({
      name: "handoff_live_push_up",
      help: "1 while this instance receives live notifications by Redis pub/sub; 0 while its open pages fall back to polling (LIVE_POLL_MS, HANDOFF_POLL_MS).",
      registers,
    }),
    retentionDeleted: new Counter({
      name: "handoff_retention_deleted_rows_total",
      help: "Rows deleted by the history retention (HISTORY_RETENTION_DAYS), by table.",
      labelNames: ["table"] as const,
      registers,
    }),
    activeSessionsCountedAt: 0,
  };
}

export type Metrics = ReturnType<typeof build>;

const KEY = Symbol.for("handoff.metrics");

/** The process's metrics, created on first use and shared by every server bundle. */
export function metrics(): Metrics {
  const holder = globalThis as unknown as Record<symbol, Metrics | undefined>;
  return (holder[KEY] ??= build());
}

/** Security events that are a step of an approval or a QR handoff, counted under that outcome too. */
const APPROVAL_OUTCOMES: Record<string, string> = {
  approval_requested: "requested",
  approval_confirmed: "confirmed",
  approval_code_wrong: "wrong_code",
  approval_denied: "denied",
};
const HANDOFF_OUTCOMES: Record<string, string> = {
  handoff_approved: "approved",
  handoff_denied: "denied",
  handoff_completed: "completed",
  handoffs_cancelled: "cancelled",
};

/** Counts one security event (called where it is recorded). */
export function countSecurityEvent(type: string): void {
  const m = metrics();
  m.securityEvents.inc({ type });
  const approval = APPROVAL_OUTCOMES[type];
  if (approval) m.approvals.inc({ outcome: approval });
  const handoff = HANDOFF_OUTCOMES[type];
  if (handoff) m.handoffs.inc({ outcome: handoff });
}

// --- Event-loop delay for the benchmarks (METRICS_ENABLED, /api/metrics/event-loop) ---

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

// --- Active sessions, counted on scrape ---

const ACTIVE_SESSIONS_EVERY_MS = 30_000;

/**
 * Sets handoff_active_sessions from a SCAN of `<prefix>{*}session:*` (each live session is one key
 * that Redis expires by itself), at most every 30 s: about one round trip per 1000 keys in the
 * database, on scrape only, never on a request's path.
 */
export function refreshActiveSessions(redis: { redis: Pick<Redis, "scan">; prefix: string }, now = Date.now()): Promise<void> {
  const m = metrics();
  if (now - m.activeSessionsCountedAt < ACTIVE_SESSIONS_EVERY_MS) return Promise.resolve();
  // Concurrent scrapes share one scan.
  scanning ??= countActiveSessions(redis, now).finally(() => (scanning = undefined));
  return scanning;
}

let scanning: Promise<void> | undefined;

async function countActiveSessions(redis: { redis: Pick<Redis, "scan">; prefix: string }, now: number): Promise<void> {
  const m = metrics();
  // <prefix>{<tag>}session:<id> (platform/redis/keys.ts); braces are literal in a SCAN pattern.
  const match = `${redis.prefix.replace(/[*?[\]\\]/g, "\\$&")}{*}session:*`;
  let cursor = "0";
  let count = 0;
  do {
    const [next, keys] = await redis.redis.scan(cursor, { match, count: 1000 });
    count += keys.length;
    cursor = String(next);
  } while (cursor !== "0");
  m.activeSessions.set(count);
  m.activeSessionsCountedAt = now;
}
