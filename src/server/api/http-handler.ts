import { readLimitedBody } from "~/server/platform/read-limited-body";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { inRequestScope, logger, requestIdFrom, roundMs } from "~/server/platform/logger";
import { metrics } from "~/server/platform/metrics";
import { MAX_BATCH_SIZE, MAX_BODY_BYTES } from "~/server/policy";
import type { Services } from "~/server/services";
import { createContext } from "./context";
import { errorResponse } from "./error-response";
import { reasonOf } from "./errors";
import { appRouter } from "./root";

const ENDPOINT = "/api/trpc";
const trimSlashes = (path: string) => path.replace(/^\/+|\/+$/g, "");

const payloadTooLarge = () =>
  errorResponse("PAYLOAD_TOO_LARGE", `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`, "body_too_large", { connection: "close" });

const PROCEDURES = new Set(Object.keys(appRouter._def.procedures));

interface ParsedCall {
  /**
   * The procedures called, as tRPC reads the path (comma-separated only with `?batch=1`), each as
   * itself when the router has it, else "unknown": what a client puts in the path never becomes a
   * log field or a metrics label as is.
   */
  procedures: string[];
  /**
   * What this handler refuses before tRPC parses the call, with a reason of its own: a path whose
   * %-encoding is broken (tRPC would throw "URI malformed" and answer 500) and a batch of more than
   * MAX_BATCH_SIZE calls (tRPC's own refusal could only be told apart by its message).
   */
  refused: { code: "BAD_REQUEST"; message: string; reason: "malformed_url" | "batch_too_large" } | null;
}

/** Reads the URL once, as tRPC's fetch adapter does: what follows the endpoint, without slashes around it. */
function parseCall(req: Request): ParsedCall {
  const url = new URL(req.url);
  const path = trimSlashes(trimSlashes(url.pathname).slice(trimSlashes(ENDPOINT).length));
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return { procedures: ["unknown"], refused: { code: "BAD_REQUEST", message: "The URL's %-encoding is malformed.", reason: "malformed_url" } };
  }
  const names = url.searchParams.get("batch") === "1" ? decoded.split(",") : [decoded];
  if (names.length > MAX_BATCH_SIZE) {
    return {
      procedures: ["unknown"],
      refused: { code: "BAD_REQUEST", message: `A batch may carry at most ${MAX_BATCH_SIZE} calls.`, reason: "batch_too_large" },
    };
  }
  return { procedures: names.map((name) => (PROCEDURES.has(name) ? name : "unknown")), refused: null };
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
  const { procedures, refused } = parseCall(req);
  const errors: CallError[] = [];
  let answered = false;

  const res = await inRequestScope(record, async () => {
    if (refused) {
      errors.push({ procedure: procedures[0] ?? "unknown", trpcCode: refused.code, reason: refused.reason });
      return errorResponse(refused.code, refused.message, refused.reason);
    }
    const bounded = await boundedRequest(req);
    if (bounded instanceof Response) {
      errors.push({ procedure: procedures[0] ?? "unknown", trpcCode: "PAYLOAD_TOO_LARGE", reason: "body_too_large" });
      return bounded;
    }
    return fetchRequestHandler({
      endpoint: ENDPOINT,
      req: bounded,
      router: appRouter,
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: ({ resHeaders }) => createContext({ headers: bounded.headers, resHeaders, services: loadServices }),
      onError({ error, path }) {
        const call: CallError = { procedure: path && PROCEDURES.has(path) ? path : "unknown", trpcCode: error.code, reason: reasonOf(error) };
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
