import { readLimitedBody } from "~/server/platform/read-limited-body";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { MAX_BATCH_SIZE, MAX_BODY_BYTES } from "~/server/policy";
import type { Services } from "~/server/services";
import { createContext } from "./context";
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

/** /api/trpc: the route handler and the integration tests' browser both answer through this. */
export async function handleTrpcRequest(
  req: Request,
  loadServices: () => Promise<Services>,
  onInternalError?: (path: string | undefined, error: unknown) => void,
): Promise<Response> {
  const bounded = await boundedRequest(req);
  if (bounded instanceof Response) return bounded;
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: bounded,
    router: appRouter,
    maxBatchSize: MAX_BATCH_SIZE,
    createContext: ({ resHeaders }) => createContext({ headers: bounded.headers, resHeaders, services: loadServices }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") onInternalError?.(path, error.cause ?? error);
    },
  });
}
