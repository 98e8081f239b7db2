import { readLimitedBody } from "~/server/platform/read-limited-body";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { MAX_BATCH_SIZE, MAX_BODY_BYTES } from "~/server/policy";
import type { Services } from "~/server/services";
import { createContext } from "./context";
import { errorResponse } from "./error-response";
import { appRouter } from "./root";

const ENDPOINT = "/api/trpc";
const trimSlashes = (path: string) => path.replace(/^\/+|\/+$/g, "");

const payloadTooLarge = () =>
  errorResponse("PAYLOAD_TOO_LARGE", `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`, "body_too_large", { connection: "close" });

/**
 * What this handler refuses before tRPC parses the call, with a reason of its own: a path whose
 * %-encoding is broken (tRPC would throw "URI malformed" and answer 500) and a batch of more than
 * MAX_BATCH_SIZE calls (tRPC's own refusal could only be told apart by its message).
 */
function refusedCall(req: Request): Response | null {
  const url = new URL(req.url);
  // As tRPC's fetch adapter reads it: what follows the endpoint, without slashes around it.
  const path = trimSlashes(trimSlashes(url.pathname).slice(trimSlashes(ENDPOINT).length));
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return errorResponse("BAD_REQUEST", "The URL's %-encoding is malformed.", "malformed_url");
  }
  // tRPC's own rule for a batch: `?batch=1` and the procedure names joined by commas.
  if (url.searchParams.get("batch") === "1" && decoded.split(",").length > MAX_BATCH_SIZE) {
    return errorResponse("BAD_REQUEST", `A batch may carry at most ${MAX_BATCH_SIZE} calls.`, "batch_too_large");
  }
  return null;
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

/** /api/trpc: the route handler and the integration tests' browser both answer through this. */
export async function handleTrpcRequest(
  req: Request,
  loadServices: () => Promise<Services>,
  onInternalError?: (path: string | undefined, error: unknown) => void,
): Promise<Response> {
  const refused = refusedCall(req);
  if (refused) return refused;
  const bounded = await boundedRequest(req);
  if (bounded instanceof Response) return bounded;
  return fetchRequestHandler({
    endpoint: ENDPOINT,
    req: bounded,
    router: appRouter,
    maxBatchSize: MAX_BATCH_SIZE,
    createContext: ({ resHeaders }) => createContext({ headers: bounded.headers, resHeaders, services: loadServices }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") onInternalError?.(path, error.cause ?? error);
    },
  });
}
