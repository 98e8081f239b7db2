import { readLimitedBody } from "~/server/platform/read-limited-body";
import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { inRequestScope, logger, requestIdFrom, roundMs } from "~/server/platform/logger";
import { metrics } from "~/server/platform/metrics";
import { MAX_BATCH_SIZE, MAX_BODY_BYTES } from "~/server/policy";
import type { Services } from "~/server/services";
import { createContext } from "./context";
import { reasonOf } from "./errors";
import { appRouter } from "./root";
import { serialize } from "./transformer";

function payloadTooLarge(): Response {
  const error = {
    message: `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`,
    code: -32600,
    data: { code: "PAYLOAD_TOO_LARGE", httpStatus: 413, reason: "body_too_large" },
  };
  return new Response(JSON.stringify({ error: serialize(error) }), { status: 413, headers: { "content-type": "application/json", connection: "close" } });
}

/**
 * The request with its body read up to MAX_BODY_BYTES, or a 413 answer: a declared length over the
 * limit is refused before reading a byte, and a chunked body is cut off as soon as it passes it.
 */
async function boundedRequest(req: Request): Promise<Request | Response> {
  if (req.method !== "POST" || !req.body) return req;
  const body = await readLimitedBody(req, MAX_BODY_BYTES);
  if (body === null) return payloadTooLarge();
  return new Request(req.url, { method: req.method, headers: req.headers, body, signal: req.signal });
}

const PROCEDURES = new Set(Object.keys(appRouter._def.procedures));

/**
 * The procedures a URL names (`/api/trpc/a.b,c.d`), each as itself when the router has it, else
 * "unknown": what a client puts in the path never becomes a log field or a metrics label as is.
 */
function proceduresOf(url: string): string[] {
  const path = new URL(url).pathname.replace(/^\/api\/trpc\/?/, "");
  let names: string[];
  try {
    names = decodeURIComponent(path).split(",");
  } catch {
    names = [path];
  }
  return names.slice(0, MAX_BATCH_SIZE + 1).map((name) => (PROCEDURES.has(name) ? name : "unknown"));
}

/** The data.reason a client received for this error (as the error formatter computes it). */
function reasonFor(error: TRPCError): string {
  return error.cause?.name === "ZodError" ? "invalid_input" : reasonOf(error);
}

interface CallError {
  procedure: string;
  trpcCode: string;
  reason: string;
  cause?: unknown;
}

/**
 * Counts an SSE stream in handoff_open_subscriptions while it is open: until it ends, fails, or
 * the client goes away (cancel).
 */
function countedStream(body: ReadableStream<Uint8Array>, procedure: string): ReadableStream<Uint8Array> {
  const gauge = metrics().openSubscriptions;
  gauge.inc({ procedure });
  let open = true;
  const close = () => {
    if (open) gauge.dec({ procedure });
    open = false;
  };
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          close();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    async cancel(reason) {
      close();
      await reader.cancel(reason);
    },
  });
}

/**
 * /api/trpc: the route handler and the integration tests' browser both answer through this.
 * Writes one log line per request (request id, procedures, status, tRPC code and data.reason of
 * an error, duration, user when known; never inputs, cookies or headers) and the request metrics.
 * An unexpected error (INTERNAL_SERVER_ERROR) is logged once, with its stack, on that line; typed
 * errors a client caused are not errors of the server and stay at info.
 */
export async function handleTrpcRequest(req: Request, loadServices: () => Promise<Services>): Promise<Response> {
  const started = performance.now();
  const record: { id: string; userId?: string } = { id: requestIdFrom(req.headers) };
  const procedures = proceduresOf(req.url);
  const errors: CallError[] = [];
  let answered = false;

  const res = await inRequestScope(record, async () => {
    const bounded = await boundedRequest(req);
    if (bounded instanceof Response) {
      errors.push({ procedure: procedures[0] ?? "unknown", trpcCode: "PAYLOAD_TOO_LARGE", reason: "body_too_large" });
      return bounded;
    }
    return fetchRequestHandler({
      endpoint: "/api/trpc",
      req: bounded,
      router: appRouter,
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: ({ resHeaders }) => createContext({ headers: bounded.headers, resHeaders, services: loadServices }),
      onError({ error, path }) {
        const call: CallError = { procedure: path && PROCEDURES.has(path) ? path : "unknown", trpcCode: error.code, reason: reasonFor(error) };
        if (error.code === "INTERNAL_SERVER_ERROR") call.cause = error.cause ?? error;
        // A subscription's stream fails after its request line was written: its own error line.
        if (answered) {
          if (call.cause) logger().error({ reqId: record.id, procedure: call.procedure, userId: record.userId, err: call.cause }, "unexpected error");
          return;
        }
        errors.push(call);
      },
    });
  });
  answered = true;

  const seconds = (performance.now() - started) / 1000;
  for (const procedure of procedures) {
    const error = errors.find((e) => e.procedure === procedure) ?? (procedure === "unknown" ? errors[0] : undefined);
    metrics().requestDuration.observe({ procedure, code: error?.trpcCode ?? "OK" }, seconds);
  }

  let response = res;
  const streaming = res.body !== null && (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
  if (streaming) response = new Response(countedStream(res.body!, procedures[0] ?? "unknown"), { status: res.status, headers: res.headers });
  response.headers.set("x-request-id", record.id);

  const internal = errors.find((e) => e.cause !== undefined);
  const line = {
    reqId: record.id,
    method: req.method,
    route: "/api/trpc",
    procedures,
    status: res.status,
    ...(errors[0] ? { trpcCode: errors[0].trpcCode, reason: errors[0].reason } : {}),
    ...(errors.length > 1 ? { errors: errors.map(({ procedure, trpcCode, reason }) => ({ procedure, trpcCode, reason })) } : {}),
    ...(streaming ? { stream: true } : {}),
    durationMs: roundMs(seconds * 1000),
    userId: record.userId,
  };
  if (internal) logger().error({ ...line, err: internal.cause }, "request failed");
  else if (res.status >= 500) logger().warn(line, "request");
  else logger().info(line, "request");
  return response;
}
