/**
 * Redis Cluster benchmarks (issue 17), on the local cluster of .ci/redis-cluster.sh (3 masters +
 * 3 replicas on 127.0.0.1:7000-7005) and the single Redis on 127.0.0.1:6379, through the app's own
 * SessionStore and transports (no HTTP: what is measured is the Redis side of a request).
 *
 *   npm run bench:cluster -- throughput   session validations/s, single Redis vs cluster, 1 and 64 callers
 *   npm run bench:cluster -- failover     SIGKILL a master under 16 callers creating and validating
 *                                         sessions: the error window, the errors seen, sessions lost
 *
 * BENCH_SECONDS (default 5) per throughput phase. Prints a Markdown report; writes bench/results/cluster-<mode>.json.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "@upstash/redis";
import { isInfrastructureError } from "~/server/api/errors";
import { isRedisUnavailable } from "~/server/platform/redis/errors";
import { clusterRunner, tcpRunner } from "~/server/platform/redis/runners";
import { createRequester, type CommandRunner } from "~/server/platform/redis/transports";
import { SessionStore, type SessionCap } from "~/server/sessions/store";

const MODE = process.argv[2];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SINGLE_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/6";
const CLUSTER_NODES = (process.env.BENCH_CLUSTER_NODES ?? "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002").split(",");
const CLUSTER_DIR = process.env.REDIS_CLUSTER_DIR ?? "/tmp/handoff-redis-cluster";
const UNCAPPED: SessionCap = { limit: 0, policy: "evict-oldest" };
const POLICY = { idleTimeoutMs: 3_600_000, absoluteLifetimeMs: 86_400_000, tokenIdleTimeoutMs: 3_600_000 };
const root = path.resolve(import.meta.dirname, "..");

const say = (line = "") => console.log(line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cluster = (action: "start" | "stop") => execFileSync("bash", [path.join(root, ".ci/redis-cluster.sh"), action], { stdio: "inherit" });

async function storeOver(runner: CommandRunner, prefix: string) {
  const requester = createRequester(runner);
  const redis = new Redis(requester);
  // The app's sessions run on the raw client (no automatic JSON parsing), as in services.ts.
  (redis as unknown as { opts: Record<string, unknown> }).opts = {
    ...(redis as unknown as { opts: Record<string, unknown> }).opts,
    automaticDeserialization: false,
  };
  return { store: new SessionStore(redis, prefix, POLICY), close: () => requester.close() };
}

/** Deletes what a bench run wrote (SCAN by prefix, then DEL: split by slot on the cluster). */
async function deleteKeys(runner: CommandRunner, prefix: string) {
  const redis = new Redis(createRequester(runner));
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, { match: `${prefix}*`, count: 1000 });
    if (keys.length) await redis.del(...keys);
    cursor = String(next);
  } while (cursor !== "0");
  await runner.close();
}

async function createSessions(store: SessionStore, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, count - i) }, (_, j) =>
        store.createSession(
          { userId: `bench-user-${i + j}`, email: "bench@example.com", deviceId: "d", ip: "127.0.0.1", method: "password", emailVerified: true },
          UNCAPPED,
        ),
      ),
    );
    tokens.push(...batch.map((b) => b.token));
  }
  return tokens;
}

/** `callers` loops validating random tokens for SECONDS: validations per second, and latency percentiles. */
async function validations(store: SessionStore, tokens: string[], callers: number) {
  const latencies: number[] = [];
  let failed = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        const session = await store.validateSessionToken(tokens[Math.floor(Math.random() * tokens.length)]!);
        latencies.push(performance.now() - started);
        if (!session) failed++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { perSecond: Math.round(latencies.length / SECONDS), p50: at(0.5), p99: at(0.99), failed };
}

async function throughput() {
  cluster("start");
  const prefix = `bench-cluster:${Date.now()}:`;
  const targets = [
    ["single Redis (127.0.0.1:6379)", () => tcpRunner(SINGLE_URL)],
    [`Redis Cluster (3 masters + 3 replicas)`, () => clusterRunner(CLUSTER_NODES)],
  ] as const;
  const rows: Record<string, unknown>[] = [];
  say(`## Session validations/s: single Redis vs Redis Cluster (${SECONDS} s per phase, ${os.cpus().length} cores, Node ${process.version})`);
  say();
  say("| target | callers | validations/s | p50 | p99 |");
  say("| --- | ---: | ---: | ---: | ---: |");
  for (const [name, connect] of targets) {
    const { store, close } = await storeOver(await connect(), prefix);
    const tokens = await createSessions(store, 2_000);
    await validations(store, tokens, 8); // warm-up (scripts loaded, connections open, JIT)
    for (const callers of [1, 64]) {
      const r = await validations(store, tokens, callers);
      if (r.failed) throw new Error(`${r.failed} validations failed on ${name}`);
      rows.push({ target: name, callers, ...r });
      say(`| ${name} | ${callers} | ${r.perSecond} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms |`);
    }
    await close();
    await deleteKeys(await connect(), prefix);
  }
  write("throughput", { seconds: SECONDS, rows });
}

interface Op {
  kind: "create" | "validate";
  start: number;
  end: number;
  error?: string;
}

/** The master serving most slots' node: its port and pid (from the cluster's own pid files). */
function someMaster(): { port: number; pid: number } {
  const nodes = execFileSync("redis-cli", ["-p", "7000", "cluster", "nodes"], { encoding: "utf8" });
  const line = nodes.split("\n").find((l) => / master /.test(` ${l.split(" ")[2]?.replace("myself,", "")} `) && !l.includes("fail") && /\d+-\d+/.test(l));
  if (!line) throw new Error("no master found");
  const port = Number(line.split(" ")[1]!.split(":")[1]!.split("@")[0]);
  return { port, pid: Number(fs.readFileSync(path.join(CLUSTER_DIR, String(port), "pid"), "utf8")) };
}

async function failover() {
  cluster("stop");
  cluster("start");
  const prefix = `bench-failover:${Date.now()}:`;
  const { store, close } = await storeOver(await clusterRunner(CLUSTER_NODES), prefix);
  const acknowledged: string[] = (await createSessions(store, 500)).slice();
  const ops: Op[] = [];
  const t0 = performance.now();
  const killAt = 3_000;
  const runFor = Number(process.env.BENCH_FAILOVER_SECONDS ?? 20) * 1000;
  let killed: { port: number; pid: number; at: number } | undefined;
  let userSeq = 0;
  const killer = (async () => {
    await sleep(killAt);
    const master = someMaster();
    process.kill(master.pid, "SIGKILL");
    killed = { ...master, at: performance.now() - t0 };
  })();
  await Promise.all(
    Array.from({ length: 16 }, async (_, caller) => {
      while (performance.now() - t0 < runFor) {
        const create = caller % 2 === 0 && Math.random() < 0.5;
        const start = performance.now() - t0;
        try {
          if (create) {
            const { token } = await store.createSession(
              {
                userId: `failover-user-${userSeq++ % 1000}`,
                email: "bench@example.com",
                deviceId: "d",
                ip: "127.0.0.1",
                method: "password",
                emailVerified: true,
              },
              UNCAPPED,
            );
            acknowledged.push(token);
          } else {
            await store.validateSessionToken(acknowledged[Math.floor(Math.random() * acknowledged.length)]!);
          }
          ops.push({ kind: create ? "create" : "validate", start, end: performance.now() - t0 });
        } catch (error) {
          const typed = isRedisUnavailable(error)
            ? "RedisUnavailableError (503)"
            : isInfrastructureError(error)
              ? "infrastructure (503)"
              : `untyped: ${String(error).slice(0, 80)}`;
          ops.push({ kind: create ? "create" : "validate", start, end: performance.now() - t0, error: typed });
          await sleep(20);
        }
      }
    }),
  );
  await killer;
  // Every session the cluster acknowledged, checked once it answers again (at most 30 s more).
  const settled = performance.now();
  while (performance.now() - settled < 30_000) {
    if (
      await store.validateSessionToken(acknowledged[0]!).then(
        () => true,
        () => false,
      )
    )
      break;
    await sleep(200);
  }
  let lost = 0;
  let unchecked = 0;
  for (let i = 0; i < acknowledged.length; i += 200) {
    const found = await Promise.all(
      acknowledged.slice(i, i + 200).map((t) =>
        store.validateSessionToken(t).then(
          (s) => (s ? "ok" : "lost"),
          () => "error",
        ),
      ),
    );
    lost += found.filter((s) => s === "lost").length;
    unchecked += found.filter((s) => s === "error").length;
  }
  await close();
  cluster("start"); // the killed node comes back as a replica of the promoted one
  await deleteKeys(await clusterRunner(CLUSTER_NODES), prefix);
  const failed = ops.filter((o) => o.error);
  const errorTypes = Object.fromEntries([...new Set(failed.map((o) => o.error!))].map((t) => [t, failed.filter((o) => o.error === t).length]));
  // Reduced, not spread: a run has 100k+ operations, too many arguments for Math.max.
  const firstError = failed.reduce((m, o) => Math.min(m, o.start), Infinity);
  const lastError = failed.reduce((m, o) => Math.max(m, o.end), 0);
  const window = failed.length ? (lastError - firstError) / 1000 : 0;
  const slowest = ops.reduce((m, o) => Math.max(m, o.end - o.start), 0);
  const result = {
    killedMaster: killed && `127.0.0.1:${killed.port}`,
    killedAtSeconds: killed && +(killed.at / 1000).toFixed(2),
    operations: ops.length,
    failedOperations: failed.length,
    errorWindowSeconds: +window.toFixed(2),
    firstErrorAtSeconds: failed.length ? +(firstError / 1000).toFixed(2) : null,
    lastErrorAtSeconds: failed.length ? +(lastError / 1000).toFixed(2) : null,
    errorTypes,
    slowestOperationMs: Math.round(slowest),
    sessionsAcknowledged: acknowledged.length,
    sessionsLost: lost,
    sessionsNotCheckable: unchecked,
  };
  say("## Failover: SIGKILL of a master under 16 callers (creating and validating sessions)");
  say();
  for (const [k, v] of Object.entries(result)) say(`- ${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`);
  write("failover", result);
}

function write(name: string, data: unknown) {
  const dir = path.join(root, "bench/results");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, `cluster-${name}.json`),
    JSON.stringify({ date: new Date().toISOString(), machine: `${os.cpus().length} cores`, ...(data as object) }, null, 2),
  );
}

if (MODE === "throughput") await throughput();
else if (MODE === "failover") await failover();
else {
  console.error("usage: npm run bench:cluster -- throughput|failover");
  process.exit(2);
}
process.exit(0);
