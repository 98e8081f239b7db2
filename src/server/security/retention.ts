import crypto from "node:crypto";
import type { Redis } from "@upstash/redis";
import { Prisma } from "~/generated/prisma/client";
import type { Db } from "~/server/platform/db";
import { logger } from "~/server/platform/logger";
import { metrics } from "~/server/platform/metrics";
import { isShuttingDown } from "~/server/platform/shutdown";
import { RETENTION_BATCH_SIZE, RETENTION_EVERY_MS, RETENTION_FIRST_RUN_MS, RETENTION_LOCK_MS } from "~/server/policy";
import type { Services } from "~/server/services";

// History retention (HISTORY_RETENTION_DAYS): sign-in history (LoginEvent) and security events
// (SecurityEvent) older than the retention are deleted in batches of RETENTION_BATCH_SIZE rows,
// oldest first, one short statement each (row locks on those rows only, found through the
// createdAt index), so sign-ins writing new rows never wait behind it. One instance at a time:
// a Redis lock (SET NX PX) that expires by itself should the instance die mid-run.

const TABLES = ["LoginEvent", "SecurityEvent"] as const;
type HistoryTable = (typeof TABLES)[number];

export interface PruneResult {
  deleted: Record<HistoryTable, number>;
  /** DELETE statements run (each removes at most batchSize rows). */
  batches: number;
  /** False when the run stopped at its deadline with old rows left (the next run goes on). */
  complete: boolean;
}

/** Deletes every LoginEvent and SecurityEvent row created before `before`, in bounded batches. */
export async function pruneHistory(db: Db, options: { before: Date; batchSize?: number; deadline?: number; now?: () => number }): Promise<PruneResult> {
  const batchSize = options.batchSize ?? RETENTION_BATCH_SIZE;
  const now = options.now ?? Date.now;
  const result: PruneResult = { deleted: { LoginEvent: 0, SecurityEvent: 0 }, batches: 0, complete: true };
  for (const table of TABLES) {
    const name = Prisma.raw(`"${table}"`);
    for (;;) {
      if (options.deadline !== undefined && now() > options.deadline) return { ...result, complete: false };
      const deleted = await db.$executeRaw`
        DELETE FROM ${name} WHERE "id" IN (
          SELECT "id" FROM ${name} WHERE "createdAt" < ${options.before} ORDER BY "createdAt" LIMIT ${batchSize}
        )`;
      result.batches++;
      result.deleted[table] += deleted;
      if (deleted > 0) metrics().retentionDeleted.inc({ table }, deleted);
      if (deleted < batchSize) break;
    }
  }
  return result;
}

// Deletes the lock only while it is still ours (it may have expired and been taken by another instance).
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export type RetentionRun = ({ status: "done" } & PruneResult) | { status: "locked" } | { status: "disabled" };

/**
 * One retention run under the instance lock: "locked" when another run holds it, "disabled" when
 * the retention is 0 (keep forever). A run stops at half the lock's lifetime, so the lock never
 * expires under it; what is left waits for the next run.
 */
export async function runRetention(deps: {
  db: Db;
  redis: { redis: Redis; prefix: string };
  retentionMs: number;
  batchSize?: number;
  lockMs?: number;
  now?: () => number;
}): Promise<RetentionRun> {
  if (deps.retentionMs <= 0) return { status: "disabled" };
  const now = deps.now ?? Date.now;
  const lockMs = deps.lockMs ?? RETENTION_LOCK_MS;
  const key = `${deps.redis.prefix}retention:lock`;
  const token = crypto.randomUUID();
  if ((await deps.redis.redis.set(key, token, { nx: true, px: lockMs })) !== "OK") return { status: "locked" };
  const started = now();
  try {
    const result = await pruneHistory(deps.db, {
      before: new Date(started - deps.retentionMs),
      batchSize: deps.batchSize,
      deadline: started + lockMs / 2,
      now,
    });
    logger().info({ deleted: result.deleted, batches: result.batches, complete: result.complete, durationMs: now() - started }, "history retention run");
    return { status: "done", ...result };
  } finally {
    await deps.redis.redis.eval(RELEASE, [key], [token]);
  }
}

const TIMER = Symbol.for("handoff.retentionTimer");
const timers = globalThis as unknown as Record<symbol, NodeJS.Timeout | undefined>;

/**
 * Runs the retention RETENTION_FIRST_RUN_MS after the server starts, then every
 * RETENTION_EVERY_MS (each instance tries; the lock lets one of them work). The timer does not
 * keep the process alive.
 */
export function startRetentionSchedule(loadServices: () => Promise<Services>, firstMs = RETENTION_FIRST_RUN_MS, everyMs = RETENTION_EVERY_MS): void {
  if (timers[TIMER]) return;
  const schedule = (ms: number) => {
    timers[TIMER] = setTimeout(() => void tick(), ms);
    timers[TIMER].unref();
  };
  const tick = async () => {
    // A batch started now would race the shutdown's closing of PostgreSQL and Redis.
    if (isShuttingDown()) return;
    try {
      const services = await loadServices();
      await runRetention({ db: services.db, redis: services.redis, retentionMs: services.policy.historyRetentionMs });
    } catch (error) {
      logger().error({ err: error }, "history retention failed");
    } finally {
      if (timers[TIMER]) schedule(everyMs);
    }
  };
  schedule(firstMs);
}
