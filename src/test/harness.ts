import crypto from "node:crypto";
import superjson from "superjson";
import { parseEnv, type Env } from "~/env";
import { createContext } from "~/server/api/context";
import { handleTrpcRequest } from "~/server/api/http-handler";
import { createCaller } from "~/server/api/root";
import { PEER_ADDRESS_HEADER } from "~/server/platform/client-ip";
import { createDb } from "~/server/platform/db";
import { createRedis, type RedisHandle } from "~/server/platform/redis";
import { createServices, type Services } from "~/server/services";
import { refuseCrossSlot } from "~/test/slot-check";

export const APP_URL = "http://localhost:3000";

/** The `cluster` vitest project runs its files against Redis Cluster (.config/vitest.ts). */
export const onCluster = process.env.TEST_REDIS_TARGET === "cluster";

/** The test Redis for createRedis: the single one, or the cluster in the `cluster` project. */
export const testRedis = () => (onCluster ? { clusterNodes: process.env.TEST_REDIS_CLUSTER_NODES!.split(",") } : { redisUrl: process.env.TEST_REDIS_URL });

export function testEnv(overrides: Record<string, string> = {}): Env {
  // Tests that run "on real Redis and on the embedded one" pass REDIS_URL: on the cluster, the real one is the cluster.
  let redisEnv: Record<string, string | undefined> = onCluster
    ? { REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES }
    : { REDIS_URL: process.env.TEST_REDIS_URL };
  if (onCluster && overrides.REDIS_URL !== undefined) {
    const { REDIS_URL: asked, ...rest } = overrides;
    overrides = rest;
    if (!asked) redisEnv = {};
  }
  return parseEnv({
    NODE_ENV: "test",
    APP_URL,
    SESSION_SECRET: "test-secret-that-is-long-enough-0123456789",
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    ...redisEnv,
    // Most tests sign several browsers in with a password; the approval tests turn this on.
    NEW_DEVICE_APPROVAL: "false",
    // Many tests sign in far more often than a person would; the rate-limit tests set their own.
    SIGN_IN_RATE_LIMIT: "100000",
    REGISTER_RATE_LIMIT: "100000",
    ...overrides,
  });
}

export const uniquePrefix = () => `handoff-test:${crypto.randomUUID()}:`;
export const uniqueEmail = (label = "user") => `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`;

/**
 * Real PostgreSQL + real Redis with a key prefix of this test's own, and a clock it controls.
 * With REDIS_URL: "" the embedded in-memory Redis is used instead.
 */
export async function createTestServices(overrides: Record<string, string> = {}) {
  const e = testEnv({ REDIS_PREFIX: uniquePrefix(), ...overrides });
  const { db, close: closeDb } = await createDb({ databaseUrl: e.DATABASE_URL, dataDir: e.DATA_DIR, poolSize: e.DATABASE_POOL_SIZE });
  // Every script must keep to one hash slot, as on Redis Cluster: checked here on every call.
  const redis = await createRedis({ redisUrl: e.REDIS_URL, clusterNodes: e.REDIS_CLUSTER_NODES, prefix: e.REDIS_PREFIX, wrapRunner: refuseCrossSlot });
  // Real time unless a test sets clock.now (and back to undefined).
  const clock: { now: number | undefined } = { now: undefined };
  const services = createServices(db, redis, e, () => clock.now ?? Date.now());
  return {
    services,
    clock,
    env: e,
    async close() {
      await deleteKeys(redis);
      await redis.close();
      await closeDb();
    },
  };
}

export async function deleteKeys(handle: RedisHandle) {
  let cursor = "0";
  do {
    const [next, keys] = await handle.redis.scan(cursor, { match: `${handle.prefix}*`, count: 1000 });
    if (keys.length) await handle.redis.del(...keys);
    cursor = String(next);
  } while (cursor !== "0");
}

export interface CallResult<T = unknown> {
  status: number;
  data?: T;
  error?: {
    message: string;
    code: number;
    data: { code: string; httpStatus: number; fieldErrors?: Record<string, string[]>; retryAfter?: number; reason?: string };
  };
  headers: Headers;
}

/**
 * A browser-like client for the real tRPC HTTP handler: it keeps cookies, sends Origin and a
 * user agent, and speaks tRPC's HTTP format (superjson), so tests cover the same path as the app.
 */
export class TestBrowser {
  cookies = new Map<string, string>();
  headers: Record<string, string>;

  private readonly loadServices: () => Promise<Services>;

  constructor(
    services: Services | (() => Promise<Services>),
    options: { userAgent?: string; ip?: string; origin?: string | null; headers?: Record<string, string> } = {},
  ) {
    this.loadServices = typeof services === "function" ? services : async () => services;
    this.headers = {
      "user-agent":
        options.userAgent ?? "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
      [PEER_ADDRESS_HEADER]: options.ip ?? "127.0.0.1",
      ...(options.origin === null ? {} : { origin: options.origin ?? APP_URL }),
      ...options.headers,
    };
  }

  async raw(
    path: string,
    init: { method: "GET" | "POST"; body?: string; query?: string; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<Response> {
    const cookie = this.cookieHeader();
    const url = `${APP_URL}/api/trpc/${path}${init.query ? `?${init.query}` : ""}`;
    const req = new Request(url, {
      method: init.method,
      headers: { ...this.headers, ...(cookie ? { cookie } : {}), ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers },
      body: init.body,
      signal: init.signal,
    });
    const res = await handleTrpcRequest(req, this.loadServices);
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = decodeURIComponent(pair!.slice(eq + 1));
      if (attrs.some((a) => /max-age=0$/i.test(a.trim())) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  private async parse<T>(res: Response): Promise<CallResult<T>> {
    const body = (await res.json()) as { result?: { data: unknown }; error?: unknown };
    if (body.error) return { status: res.status, error: superjson.deserialize(body.error as never), headers: res.headers };
    return { status: res.status, data: superjson.deserialize(body.result!.data as never) as T, headers: res.headers };
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("; ");
  }

  /** A server-side tRPC caller acting as this browser (for subscriptions). */
  async caller() {
    const headers = new Headers({ ...this.headers, cookie: this.cookieHeader() });
    return createCaller(createContext({ headers, resHeaders: null, services: this.loadServices }));
  }

  async mutation<T = unknown>(path: string, input?: unknown): Promise<CallResult<T>> {
    const body = JSON.stringify(input === undefined ? {} : superjson.serialize(input));
    return this.parse<T>(await this.raw(path, { method: "POST", body }));
  }

  async query<T = unknown>(path: string, input?: unknown): Promise<CallResult<T>> {
    const query = input === undefined ? undefined : `input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
    return this.parse<T>(await this.raw(path, { method: "GET", query }));
  }
}

/**
 * @upstash/ratelimit's sliding window weighs the previous minute by the share of it still in the
 * window, so a run that crosses a minute boundary may be let through once more than the limit:
 * tests that count a limit exactly start where the current minute has room for them.
 */
export async function clearOfMinuteBoundary(budgetMs = 15_000) {
  const into = Date.now() % 60_000;
  if (into > 60_000 - budgetMs) await new Promise((resolve) => setTimeout(resolve, 60_000 - into + 50));
}
