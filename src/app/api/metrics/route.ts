import crypto from "node:crypto";
import { env } from "~/env";
import { logger, withRequestLog } from "~/server/platform/logger";
import { metrics, refreshActiveSessions } from "~/server/platform/metrics";
import { getServices } from "~/server/services";

export const dynamic = "force-dynamic";

const digest = (value: string) => crypto.createHash("sha256").update(value).digest();

/** `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time. */
function authorized(header: string | null, token: string): boolean {
  const given = /^bearer +(\S+) *$/i.exec(header ?? "")?.[1];
  return given !== undefined && crypto.timingSafeEqual(digest(given), digest(token));
}

/**
 * Prometheus text exposition of the process's metrics (src/server/platform/metrics.ts). Off (404)
 * without METRICS_TOKEN; with it, a request without that bearer token is 401.
 */
async function scrape(req: Request): Promise<Response> {
  const token = env().METRICS_TOKEN;
  if (!token) return new Response("Not found", { status: 404 });
  if (!authorized(req.headers.get("authorization"), token)) {
    return new Response("Unauthorized", { status: 401, headers: { "www-authenticate": 'Bearer realm="metrics"' } });
  }
  try {
    await refreshActiveSessions((await getServices()).redis);
  } catch (error) {
    // Redis down: the other metrics (its error counts among them) still matter most now.
    logger().warn({ err: error }, "could not count active sessions");
  }
  const { registry } = metrics();
  return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType, "cache-control": "no-store" } });
}

export const GET = withRequestLog("/api/metrics", scrape);
