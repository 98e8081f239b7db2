import { describe, expect, it } from "vitest";
import { pageSecurityHeaders } from "~/server/platform/security-headers";

describe("page security headers", () => {
  const headers = (pathname: string, https = false, development = false) => pageSecurityHeaders({ pathname, nonce: "abc123==", https, development });

  it("allows scripts only with the nonce, never framing, objects or base-uri changes", () => {
    const csp = headers("/login")["content-security-policy"]!;
    expect(csp).toContain("script-src 'self' 'nonce-abc123==' 'strict-dynamic'");
    expect(csp).not.toContain("unsafe-eval");
    for (const directive of ["frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "default-src 'self'"])
      expect(csp).toContain(directive);
  });

  it("HSTS and upgrade-insecure-requests only over https; eval only in development (React refresh)", () => {
    expect(headers("/login")).not.toHaveProperty("strict-transport-security");
    expect(headers("/login", true)["strict-transport-security"]).toBe("max-age=63072000; includeSubDomains");
    expect(headers("/login", true)["content-security-policy"]).toContain("upgrade-insecure-requests");
    expect(headers("/login", false, true)["content-security-policy"]).toContain("'unsafe-eval'");
  });

  it("no Referer from pages whose URL carries a token; the camera only on /scan", () => {
    expect(headers("/handoff/tok")["referrer-policy"]).toBe("no-referrer");
    expect(headers("/continue/tok")["referrer-policy"]).toBe("no-referrer");
    expect(headers("/dashboard")["referrer-policy"]).toBe("strict-origin-when-cross-origin");
    // Account-link pages: no Referer to other sites, yet their no-JavaScript form posts keep a real Origin.
    expect(headers("/reset/tok")["referrer-policy"]).toBe("same-origin");
    expect(headers("/verify/tok")["referrer-policy"]).toBe("same-origin");
    expect(headers("/scan")["permissions-policy"]).toMatch(/^camera=\(self\)/);
    for (const path of ["/", "/dashboard", "/handoff/tok", "/scanner"]) expect(headers(path)["permissions-policy"]).toMatch(/^camera=\(\)/);
  });
});
