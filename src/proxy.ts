import { NextResponse, type NextRequest } from "next/server";
import { errorResponse } from "~/server/api/error-response";
import { pageSecurityHeaders } from "~/server/platform/security-headers";

// Security headers with a fresh CSP nonce for every page. Next.js reads the nonce from the
// request's Content-Security-Policy header and puts it on the scripts it renders. API routes are
// left out (they get static headers from next.config.mjs) so the session hot path pays nothing.
export function proxy(request: NextRequest) {
  // Next.js decodes dynamic segments (/handoff/[token], /api/trpc/[trpc]) itself and answers a
  // bare 500 when the %-encoding is broken: refuse such a URL here, before routing.
  if (!decodes(request.nextUrl.pathname)) {
    // API clients get the API's error shape, with data.reason.
    if (request.nextUrl.pathname.startsWith("/api/")) return errorResponse("BAD_REQUEST", "The URL's %-encoding is malformed.", "malformed_url");
    return new NextResponse("Bad request: the URL's %-encoding is malformed.", { status: 400, headers: { "content-type": "text/plain; charset=utf-8" } });
  }
  if (request.nextUrl.pathname.startsWith("/api/")) return NextResponse.next();
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  const https = (process.env.APP_URL ?? "").startsWith("https:") || request.nextUrl.protocol === "https:";
  const headers = pageSecurityHeaders({ pathname: request.nextUrl.pathname, nonce, https, development: process.env.NODE_ENV === "development" });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("content-security-policy", headers["content-security-policy"]!);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

function decodes(pathname: string): boolean {
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false;
  }
}

export const config = {
  matcher: [
    // Any path holding a %-escape is checked, prefetch or not (the entry below skips prefetches);
    // API paths only then, so the session hot path pays nothing.
    "/:path*/:segment(.*%.*)",
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
