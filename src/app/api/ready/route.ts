import { checkReadiness, shippedMigrationNames } from "./readiness";
import { getDb } from "~/server/platform/db";
import { getRedis } from "~/server/platform/redis";
import { isShuttingDown } from "~/server/platform/shutdown";

export const dynamic = "force-dynamic";

let shipped: string[] | undefined;

// Readiness, for load balancers and orchestrators: 200 when PostgreSQL and Redis answer and every
// shipped migration is applied, else 503 naming what failed. Liveness is /api/health.
export async function GET() {
  shipped ??= shippedMigrationNames();
  const result = await checkReadiness({
    query: async (sql) => (await getDb()).$queryRawUnsafe(sql),
    ping: async () => (await getRedis()).raw.ping(),
    shipped,
    shuttingDown: isShuttingDown(),
  });
  return Response.json(result, { status: result.ok ? 200 : 503 });
}
