import { readLimitedBody } from "~/server/platform/read-limited-body";
import { TRPCError } from "@trpc/server";
import type { FormErrorCode } from "~/lib/form-errors";
import { safeNextPath } from "~/lib/next-path";
import { createContext, requestHelpers } from "~/server/api/context";
import { errorResponse } from "~/server/api/error-response";
import { reasonOf } from "~/server/api/errors";
import { createCaller } from "~/server/api/root";
import { cancelApprovals } from "~/server/approvals/new-device";
import { approvalCookieName, parseCookies, secretFor } from "~/server/platform/cookies";
import { isAuthError } from "~/server/platform/errors";
import { logger } from "~/server/platform/logger";
import { sha256 } from "~/server/platform/crypto";
import type { Services } from "~/server/services";

/** An email, a password and a `next` path fit many times over; anything bigger is not our form. */
export const MAX_FORM_BYTES = 8 * 1024;

export type FormMode = "login" | "register" | "second-factor";

const PAGE: Record<FormMode, string> = { login: "/login", register: "/register", "second-factor": "/login/second-factor" };

/** The page that asks for the second factor of the sign-in `challengeId` (without JavaScript). */
const secondFactorPage = (challengeId: string, next: string, error?: FormErrorCode) => {
  const query = new URLSearchParams({ challenge: challengeId });
  if (error) query.set("error", error);
  if (next !== "/dashboard") query.set("next", next);
  return `/login/second-factor?${query}`;
};

/** A 303 to `location` carrying the Set-Cookie headers the procedure set (but `dropCookie`). */
const seeOther = (location: string, setCookies: string[], dropCookie?: string) => {
  const headers = new Headers({ location, "cache-control": "no-store" });
  for (const header of setCookies) if (!dropCookie || !header.startsWith(`${dropCookie}=`)) headers.append("set-cookie", header);
  return new Response(null, { status: 303, headers });
};

/** The body as text, or null once it is over `limit` bytes (stops reading there: nothing big is buffered). */
async function readLimited(req: Request, limit: number): Promise<string | null> {
  const body = await readLimitedBody(req, limit);
  return body && new TextDecoder().decode(body);
}

/**
 * The short code the form page shows (`?error=`, a stable part of the URL) for what the auth router
 * threw, chosen by the error's `data.reason` (the API's catalogue), never its message or class.
 */
function formErrorOf(mode: FormMode, error: TRPCError): { code: FormErrorCode; retryAfter?: number } {
  const cause = isAuthError(error.cause) ? error.cause : null;
  switch (reasonOf(error)) {
    case "invalid_credentials":
    case "sessions_ended":
    case "not_signed_in":
      return { code: "invalid" };
    case "email_taken":
      return { code: "exists" };
    // Rate limits and the account throttle say when to retry.
    case "rate_limited":
    case "too_many_failures":
    case "attempts_in_flight":
    case "network_busy":
      return { code: "throttled", retryAfter: cause?.retryAfterSeconds };
    case "session_limit":
      return { code: "session_limit" };
    case "invalid_input": {
      // The first field zod complained about.
      const issues = (error.cause as { issues?: { path?: unknown[] }[] } | undefined)?.issues;
      if (mode === "second-factor") return { code: issues?.[0]?.path?.[0] === "challengeId" ? "second_factor_expired" : "wrong_code" };
      if (issues?.[0]?.path?.[0] === "email") return { code: "email" };
      return { code: mode === "register" ? "new_password" : "password" };
    }
    case "password_rejected":
      return { code: "new_password" };
    case "wrong_second_factor_code":
      return { code: "wrong_code" };
    case "second_factor_invalid":
      return { code: "second_factor_expired" };
    case "service_unavailable":
      return { code: "unavailable" };
    default:
      return { code: "failed" };
  }
}

/**
 * The sign-in and register forms posted without JavaScript (before the page's scripts loaded, or
 * with them off): application/x-www-form-urlencoded, answered with a 303 redirect, so credentials
 * never travel in a URL. It calls the same tRPC procedures as the JavaScript form (a server-side
 * caller: same Origin check, validation, throttles and cookies), so both paths behave alike.
 */
export function formPostHandler(mode: FormMode, loadServices: () => Promise<Services>) {
  return async function POST(req: Request): Promise<Response> {
    const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded")
      return errorResponse("UNSUPPORTED_MEDIA_TYPE", "Send the form as application/x-www-form-urlencoded.", "protocol_error");
    const body = await readLimited(req, MAX_FORM_BYTES);
    if (body === null) return errorResponse("PAYLOAD_TOO_LARGE", `The form is larger than ${MAX_FORM_BYTES} bytes.`, "body_too_large");
    const form = new URLSearchParams(body);
    const next = safeNextPath(form.get("next") ?? undefined);
    const challengeId = form.get("challengeId") ?? "";
    const back = (code: FormErrorCode, retryAfter?: number) => {
      // A wrong code is asked again on the same page; an expired second step starts over at sign-in.
      const askAgain = mode === "second-factor" && code !== "second_factor_expired" && code !== "approval_needs_js";
      const page = askAgain ? PAGE["second-factor"] : mode === "second-factor" ? PAGE.login : PAGE[mode];
      const query = new URLSearchParams(askAgain ? { challenge: challengeId, error: code } : { error: code });
      if (retryAfter) query.set("retry", String(retryAfter));
      if (next !== "/dashboard") query.set("next", next);
      return `${page}?${query}`;
    };

    const resHeaders = new Headers();
    const caller = createCaller(createContext({ headers: req.headers, resHeaders, services: loadServices }));
    const input = { email: form.get("email") ?? "", password: form.get("password") ?? "" };
    try {
      const result =
        mode === "login"
          ? await caller.auth.login(input)
          : mode === "register"
            ? await caller.auth.register(input)
            : await caller.auth.verifySecondFactor({ challengeId, code: form.get("code") ?? "" });
      if ("status" in result && result.status === "second_factor_required") {
        // The code is asked on a page of its own, which also posts without JavaScript.
        return seeOther(secondFactorPage(result.challengeId, next), resHeaders.getSetCookie());
      }
      if ("status" in result && result.status === "approval_required") {
        // Showing the code and waiting for the other device need JavaScript. The request is
        // withdrawn, so the owner is not asked about a device that cannot finish.
        const services = await loadServices();
        const approvalName = approvalCookieName(services.config.secureCookies);
        const setCookies = resHeaders.getSetCookie();
        await withdrawApproval(services, req.headers, setCookies, result.requestId, approvalName);
        return seeOther(back("approval_needs_js"), setCookies, approvalName);
      }
      return seeOther(next, resHeaders.getSetCookie());
    } catch (error) {
      if (!(error instanceof TRPCError)) throw error;
      // A cross-site post is not our form: no redirect that would look like a normal answer.
      if (reasonOf(error) === "origin_mismatch") return errorResponse("FORBIDDEN", error.message, "origin_mismatch");
      if (error.code === "INTERNAL_SERVER_ERROR") logger().error({ form: mode, err: error.cause ?? error }, "unexpected error");
      const { code, retryAfter } = formErrorOf(mode, error);
      // The device cookie minted for this browser is kept, as the JavaScript form would keep it.
      return seeOther(back(code, retryAfter), resHeaders.getSetCookie());
    }
  };
}

/** Cancels the approval request this browser just made (by its device cookie, as lockout does). */
async function withdrawApproval(services: Services, headers: Headers, setCookies: string[], requestId: string, approvalName: string) {
  // The browser's cookies as they are after this response: a device cookie may just have been minted.
  const cookies = parseCookies(headers.get("cookie"));
  for (const header of setCookies) for (const [name, value] of parseCookies(header.split(";")[0]!)) cookies.set(name, value);
  const merged = new Headers(headers);
  merged.set("cookie", [...cookies].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join("; "));
  const request = await services.approvals.watch(requestId, { browserSecret: secretFor(cookies.get(approvalName), requestId) });
  if (!request.ok) return;
  const { deviceCookie } = requestHelpers(merged, null, services.config).client();
  await cancelApprovals(services, request.record.userId, sha256(deviceCookie));
}
