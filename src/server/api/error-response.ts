import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import type { ErrorReason } from "~/server/platform/errors";

// The few error answers written before tRPC runs (src/server/api/http-handler.ts, src/proxy.ts,
// the no-JavaScript forms in src/app/api/form): the same wire shape as tRPC's own errors with the
// superjson transformer, so every client reads `error.json.data.reason` from every error.
// Kept free of heavy imports: src/proxy.ts uses it.

const HTTP_STATUS = {
  BAD_REQUEST: 400,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
} as const satisfies Partial<Record<TRPC_ERROR_CODE_KEY, number>>;

export type EarlyErrorCode = keyof typeof HTTP_STATUS;

/** A JSON error answer `{ error: { json: { message, code, data: { code, httpStatus, reason } } } }`. */
export function errorResponse(code: EarlyErrorCode, message: string, reason: ErrorReason, headers: Record<string, string> = {}): Response {
  const httpStatus = HTTP_STATUS[code];
  const body = { error: { json: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus, reason } } } };
  return new Response(JSON.stringify(body), {
    status: httpStatus,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}
