import { eventLoopDelay } from "~/server/platform/metrics";

export const dynamic = "force-dynamic";

// Only with METRICS_ENABLED=true (the benchmarks turn it on): the server's event-loop delay since
// the last `?reset`, as JSON. Operators use the Prometheus metrics at /api/metrics instead.
export function GET(req: Request) {
  const stats = eventLoopDelay(new URL(req.url).searchParams.has("reset"));
  if (!stats) return new Response("Not found", { status: 404 });
  return Response.json({ eventLoopDelayMs: stats });
}
