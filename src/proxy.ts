import { NextResponse, type NextRequest } from "next/server";
import { pageSecurityHeaders } from "~/server/security-headers";

// Security headers with a fresh CSP nonce for every page. Next.js reads the nonce from the
// request's Content-Security-Policy header and puts it on the scripts it renders. API routes are
// left out (they get static headers from next.config.mjs) so the session hot path pays nothing.
export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  const https = (process.env.APP_URL ?? "").startsWith("https:") || request.nextUrl.protocol === "https:";
  const headers = pageSecurityHeaders({ pathname: request.nextUrl.pathname, nonce, https, development: process.env.NODE_ENV === "development" });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("content-security-policy", headers["content-security-policy"]!);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

export const config = {
  matcher: [
    {
      source: "/((?!api/|_next/static|_next/image|favicon|\\.well-known/).*)",
      // Prefetches are not rendered pages.
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
