import http from "node:http";
import net from "node:net";
import { SHUTDOWN_ACCEPTED_GRACE_MS, SHUTDOWN_BACKLOG_MS } from "~/server/policy";

/**
 * Graceful shutdown for `next start` and the standalone `node server.js` (both run Next.js's
 * start-server in this process). Next.js's own SIGTERM handler closes the listening socket, waits
 * for every connection to end (an open SSE stream never does) and exits 143. Instead, on SIGTERM
 * (or SIGINT):
 *   1. stop taking new connections: the listening sockets close (new connections are refused); a
 *      request still arriving on a connection opened before, kept-alive or accepted a moment before
 *      the signal, is served with `Connection: close` (connections without one are closed after
 *      SHUTDOWN_ACCEPTED_GRACE_MS);
 *   2. end open SSE streams (tRPC subscriptions) at once, so their clients reconnect to another
 *      instance (EventSource and tRPC's subscription link reconnect by themselves, resuming from
 *      the last event id);
 *   3. let in-flight requests finish, for at most SHUTDOWN_TIMEOUT_MS, then cut what is left;
 *   4. close Redis and PostgreSQL, and exit 0.
 * `/api/ready` answers 503 (`shutting_down`) from the moment it starts.
 */

interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
}

interface ShutdownState {
  servers: Set<http.Server>;
  inFlight: Set<Exchange>;
  shuttingDown: boolean;
  installed: boolean;
  tracking: boolean;
}

const globalForShutdown = globalThis as unknown as { handoffShutdown?: ShutdownState };
const state: ShutdownState = (globalForShutdown.handoffShutdown ??= {
  servers: new Set(),
  inFlight: new Set(),
  shuttingDown: false,
  installed: false,
  tracking: false,
});

/** True once SIGTERM/SIGINT started the shutdown (read by /api/ready, in any server bundle). */
export function isShuttingDown(): boolean {
  return state.shuttingDown;
}

const isEventStream = ({ req, res }: Exchange) =>
  String(res.getHeader("content-type") ?? "").includes("text/event-stream") || String(req.headers.accept ?? "").includes("text/event-stream");

/**
 * Remembers every HTTP server that receives a request and every request until its response
 * closes. App Router code never sees the server or the socket, hence the hook on the prototype
 * (as src/server/platform/peer-address.ts does).
 */
function trackRequests() {
  if (state.tracking) return;
  state.tracking = true;
  const proto = http.Server.prototype as unknown as { emit: (event: string, ...args: unknown[]) => boolean };
  const emit = proto.emit;
  proto.emit = function (this: http.Server, event: string, ...args: unknown[]) {
    if (event === "request") {
      state.servers.add(this);
      const exchange = { req: args[0] as http.IncomingMessage, res: args[1] as http.ServerResponse };
      // During shutdown a request can still come on a connection opened before: serve it, but
      // tell the client not to send another one there.
      if (state.shuttingDown) exchange.res.setHeader("connection", "close");
      state.inFlight.add(exchange);
      exchange.res.once("close", () => state.inFlight.delete(exchange));
    } else if (event === "connection" || event === "listening") {
      state.servers.add(this);
    }
    return emit.call(this, event, ...args);
  };
}

function waitForInFlight(timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    const check = () => {
      if (state.inFlight.size === 0) return resolve(true);
      if (Date.now() >= deadline) return resolve(false);
      setTimeout(check, 20);
    };
    check();
  });
}

/** Closes Redis and PostgreSQL if this process opened them (the clients live on globalThis: db.ts, redis.ts). */
async function closeServices(): Promise<void> {
  const shared = globalThis as unknown as {
    handoffDb?: Promise<{ close(): Promise<void> }>;
    handoffRedis?: Promise<{ close(): Promise<void> }>;
  };
  const close = async (what: string, handle: Promise<{ close(): Promise<void> }> | undefined) => {
    if (!handle) return;
    try {
      await (await handle).close();
    } catch (error) {
      // Never opened (it failed to connect), or already gone: nothing left to close.
      console.error(`[shutdown] closing ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  await Promise.all([close("Redis", shared.handoffRedis), close("PostgreSQL", shared.handoffDb)]);
}

async function shutDown(signal: string, timeoutMs: number): Promise<void> {
  if (state.shuttingDown) return;
  state.shuttingDown = true;
  const started = Date.now();
  const streams = [...state.inFlight].filter(isEventStream);
  console.error(
    `[shutdown] ${signal}: closing ${state.servers.size} listener(s), ending ${streams.length} event stream(s), waiting for ${state.inFlight.size - streams.length} request(s) (at most ${timeoutMs} ms)`,
  );
  for (const exchange of state.inFlight) {
    if (streams.includes(exchange)) exchange.res.destroy();
    else if (!exchange.res.headersSent) exchange.res.setHeader("connection", "close");
  }
  // The signal can be handled while connections the kernel has already completed wait to be
  // accepted (the event loop was busy): closing the listener then would reset them. A few more
  // turns accept them (their requests are served, with Connection: close).
  await new Promise((resolve) => setTimeout(() => setImmediate(resolve), Math.min(SHUTDOWN_BACKLOG_MS, timeoutMs)));
  // Only the listening socket: http.Server#close would also drop at once every connection with no
  // request in progress (Node >= 19), including one accepted just now whose request has been sent
  // but not read yet, and its client would get a reset instead of an answer.
  for (const server of state.servers) net.Server.prototype.close.call(server);
  const grace = Math.min(SHUTDOWN_ACCEPTED_GRACE_MS, timeoutMs);
  await new Promise((resolve) => setTimeout(resolve, grace));
  for (const server of state.servers) server.closeIdleConnections();
  const drained = await waitForInFlight(timeoutMs - grace);
  if (!drained) console.error(`[shutdown] ${state.inFlight.size} request(s) still running after ${timeoutMs} ms: closing their connections`);
  // Whatever is left is idle keep-alive connections (or requests over time).
  for (const server of state.servers) server.closeAllConnections();
  await closeServices();
  console.error(`[shutdown] done in ${Date.now() - started} ms`);
  process.exit(0);
}

/**
 * Takes over SIGTERM and SIGINT in production (`next dev` keeps its own quick exit). Called from
 * src/instrumentation.ts, which Next.js runs after registering its own signal handlers (unless
 * NEXT_MANUAL_SIG_HANDLE is set): those are replaced, since they would exit with 143 while this
 * one is still draining.
 */
export function installGracefulShutdown(timeoutMs: number): void {
  trackRequests();
  if (state.installed || process.env.NODE_ENV !== "production") return;
  state.installed = true;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    if (!process.env.NEXT_MANUAL_SIG_HANDLE) process.removeAllListeners(signal);
    process.on(signal, () => void shutDown(signal, timeoutMs));
  }
}
