// `npm run db:prune`: one history-retention run now (what the app does hourly), with the app's
// configuration (environment or .env) and the same Redis lock, so it never runs alongside an
// instance's own run. Prints what it deleted as JSON; exit status 0 also when another run held the lock.
import { env } from "~/env";
import { createDb } from "~/server/platform/db";
import { createRedis } from "~/server/platform/redis";
import { policyFrom } from "~/server/policy";
import { runRetention } from "~/server/security/retention";

try {
  process.loadEnvFile?.(".env");
} catch {
  // no .env: configuration comes from the environment
}

const e = env();
const { db, close } = await createDb({ databaseUrl: e.DATABASE_URL, dataDir: e.DATA_DIR, poolSize: e.DATABASE_POOL_SIZE });
const redis = await createRedis({
  upstashUrl: e.UPSTASH_REDIS_REST_URL,
  upstashToken: e.UPSTASH_REDIS_REST_TOKEN,
  redisUrl: e.REDIS_URL,
  prefix: e.REDIS_PREFIX,
});
try {
  const result = await runRetention({ db, redis, retentionMs: policyFrom(e).historyRetentionMs });
  process.stdout.write(`${JSON.stringify({ retentionDays: e.HISTORY_RETENTION_DAYS, ...result })}\n`);
} finally {
  await redis.close();
  await close();
}
