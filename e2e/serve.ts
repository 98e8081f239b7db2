import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { resetDatabase } from "../src/test/database";
import { startMailSink } from "./mail";

// Playwright's web server: one production build, four servers on the real PostgreSQL and Redis.
//   E2E_PORT (3100): the default configuration, on the local Redis Cluster (3 masters + 3 replicas,
//     .ci/redis-cluster.sh; E2E_REDIS_CLUSTER_NODES to use another): every default-server spec
//     runs on a cluster.
//   E2E_CLASSIC_PORT (3101): PRESET=classic (2 sessions, reject, new-device approval), on a single
//     Redis (E2E_REDIS_URL): the production build is tested on both.
//   E2E_PORT + 2, E2E_PORT + 3: more instances of the default configuration (multi-instance test),
//     on the same cluster.
const port = Number(process.env.E2E_PORT ?? 3100);
const classicPort = Number(process.env.E2E_CLASSIC_PORT ?? 3101);

await resetDatabase(process.env.E2E_DATABASE_NAME ?? "handoff_e2e");
if (!process.env.E2E_REDIS_CLUSTER_NODES) {
  const cluster = spawnSync("bash", [".ci/redis-cluster.sh", "start"], { stdio: ["ignore", "ignore", "inherit"] });
  if (cluster.status !== 0) process.exit(cluster.status ?? 1);
}
/** The default server and its other instances reach Redis through the cluster (REDIS_URL unset for them). */
const onCluster = { REDIS_URL: "", REDIS_CLUSTER_NODES: process.env.E2E_REDIS_CLUSTER_NODES ?? "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002" };
const build = spawnSync("npx", ["next", "build"], { stdio: ["ignore", "ignore", "inherit"] });
if (build.status !== 0) process.exit(build.status ?? 1);

// Each server's stdout (its JSON request log) goes to a file, which e2e/logs.check.ts reads after the browser tests.
const logDir = process.env.E2E_LOG_DIR!;
fs.rmSync(logDir, { recursive: true, force: true });
fs.mkdirSync(logDir, { recursive: true });

const children: ChildProcess[] = [];
const start = (p: number, env: Record<string, string>) => {
  // Every e2e browser (and the black-box fuzzer) comes from 127.0.0.1: the per-IP limits are tested in the integration suite.
  const child = spawn("npx", ["next", "start", "-p", String(p)], {
    env: {
      SIGN_IN_RATE_LIMIT: "1000",
      REGISTER_RATE_LIMIT: "1000",
      HANDOFF_RATE_LIMIT: "1000",
      APPROVAL_RATE_LIMIT: "1000",
      PASSKEY_RATE_LIMIT: "1000",
      ...process.env,
      ...env,
    },
    stdio: ["ignore", fs.openSync(`${logDir}/server-${p}.log`, "w"), "inherit"],
  });
  child.on("exit", (code) => {
    console.error(`[e2e] server on ${p} exited (${code})`);
    process.exit(1);
  });
  children.push(child);
};
const stop = () => {
  for (const child of children) child.kill("SIGTERM");
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

start(classicPort, { APP_URL: `http://localhost:${classicPort}`, PRESET: "classic", REDIS_PREFIX: `${process.env.REDIS_PREFIX ?? "handoff-e2e:"}classic:` });
// The default server sends its email over real SMTP to a sink the specs read (e2e/mail.ts).
const sink = await startMailSink(port);
start(port, { APP_URL: `http://localhost:${port}`, MAIL_ENABLED: "true", SMTP_URL: sink.url, ...onCluster });
// Two more instances of the default server, as behind a load balancer: same APP_URL, database,
// Redis and secret (e2e/multi-instance.spec.ts sends each browser's requests to one of them).
for (const other of [port + 2, port + 3]) start(other, { APP_URL: `http://localhost:${port}`, MAIL_ENABLED: "true", SMTP_URL: sink.url, ...onCluster });
