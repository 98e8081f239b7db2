// The security headers of every page (src/proxy.ts sets them per request). Scripts run only with
// this request's nonce (Next.js puts it on its own scripts): no inline script, no eval outside
// development. Styles allow inline attributes (html5-qrcode sets some), which cannot run code.

/** Pages whose URL carries a QR token: never leak it in a Referer. */
const TOKEN_PAGES = /^\/(handoff|continue)\//;
/**
 * Pages whose URL carries an account-link secret (password reset, verification): no Referer to any
 * other site either, but `same-origin` rather than `no-referrer`, because their forms post without
 * JavaScript too, and under `no-referrer` a browser sends such a post with `Origin: null`, which the
 * CSRF check (rightly) refuses. Our own server already knows the token.
 */
const ACCOUNT_LINK_PAGES = /^\/(reset|verify)\//;

export function pageSecurityHeaders(input: { pathname: string; nonce: string; https: boolean; development: boolean }): Record<string, string> {
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${input.nonce}' 'strict-dynamic'${input.development ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "media-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    // The QR pages (and every other one) must not be framed: no clickjacking of "Approve".
    "frame-ancestors 'none'",
    ...(input.https ? ["upgrade-insecure-requests"] : []),
  ].join("; ");
  return {
    "content-security-policy": csp,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": TOKEN_PAGES.test(input.pathname)
      ? "no-referrer"
      : ACCOUNT_LINK_PAGES.test(input.pathname)
        ? "same-origin"
        : "strict-origin-when-cross-origin",
    // The camera only where QR codes are scanned.
    "permissions-policy": `camera=${input.pathname === "/scan" ? "(self)" : "()"}, microphone=(), geolocation=(), payment=(), usb=()`,
    "cross-origin-opener-policy": "same-origin",
    ...(input.https ? { "strict-transport-security": "max-age=63072000; includeSubDomains" } : {}),
  };
}
