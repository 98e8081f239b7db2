import { checkReadiness, shippedMigrationNames, type Readiness } from "./readiness";
import { getDb } from "~/server/platform/db";
import { getRedis } from "~/server/platform/redis";
import { isShuttingDown } from "~/server/platform/shutdown";

export const dynamic = "force-dynamic";

let shipped: string[] | undefined;
// Probes from every load balancer share one check a second: each costs two PostgreSQL queries and a
// Redis PING, and a slow database must not pile up probes on its connection pool.
const REUSE_MS = 1000;
let last: { at: number; result: Promise<Readiness> } | undefined;

function check(shuttingDown: boolean): Promise<Readiness> {
  shipped ??= shippedMigrationNames();
  return checkReadiness({
    query: async (sql) => (await getDb()).$queryRawUnsafe(sql),
    ping: async () => (await getRedis()).raw.ping(),
    shipped,
    shuttingDown,
  });
}

// Readiness, for load balancers and orchestrators: 200 when PostgreSQL and Redis answer and every
// shipped migration is applied, else 503 naming what failed. Liveness is /api/health.
export async function GET() {
  const now = Date.now();
  let pending: Promise<Readiness>;
  // Shutting down is said at once, without a shared answer from before.
  if (isShuttingDown()) pending = check(true);
  else if (last && now - last.at < REUSE_MS) pending = last.result;
  else last = { at: now, result: (pending = check(false)) };
  const result = await pending;
  return Response.json(result, { status: result.ok ? 200 : 503 });
}
