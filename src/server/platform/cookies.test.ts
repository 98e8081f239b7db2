import { describe, expect, it } from "vitest";
import { clearSessionCookie, handoffCookie, newDeviceCookie, parseCookies, serializeCookie } from "~/server/platform/cookies";

// Attribute order carries no meaning (RFC 6265 5.2), so headers are compared as sets of parts.
const parts = (header: string) => header.split("; ").sort();

describe("Set-Cookie headers", () => {
  it("carry exactly the attributes we send: Path=/, HttpOnly, SameSite=Lax, Max-Age, and Secure only over https", () => {
    expect(parts(serializeCookie("handoff_session", "Fe26.2**abc*~2", { maxAge: 2_592_000, secure: false }))).toEqual(
      ["handoff_session=Fe26.2**abc*~2", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=2592000"].sort(),
    );
    expect(parts(handoffCookie("req", "secret", { secure: true, maxAgeSeconds: 120 }))).toEqual(
      ["__Host-handoff_pending=req.secret", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=120", "Secure"].sort(),
    );
    expect(parts(clearSessionCookie(true))).toEqual(["__Host-handoff_session=", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=0", "Secure"].sort());
  });

  it("%-encode what a cookie value cannot hold, and the parser gives it back", () => {
    const header = serializeCookie("handoff_session", 'a b;c,d"é', { maxAge: 60, secure: false });
    expect(header.startsWith("handoff_session=a%20b%3Bc%2Cd%22%C3%A9;")).toBe(true);
    expect(parseCookies(header.split(";")[0]!).get("handoff_session")).toBe('a b;c,d"é');
    const device = newDeviceCookie({ secure: false, secret: "s".repeat(32) });
    expect(parseCookies(device.header.split(";")[0]!).get("handoff_device")).toBe(device.value);
  });

  it("refuse a name or Max-Age that would make a broken header", () => {
    expect(() => serializeCookie("bad name;", "v", { maxAge: 60, secure: false })).toThrow(TypeError);
    expect(() => serializeCookie("handoff_session", "v", { maxAge: 1.5, secure: false })).toThrow(TypeError);
  });
});

describe("Cookie header parsing", () => {
  const cases: [string, string | null, Record<string, string>][] = [
    ["no header", null, {}],
    ["empty header", "", {}],
    ["spaces around names and values", "  a = 1 ;b=2;   c=3  ", { a: "1", b: "2", c: "3" }],
    ["the first of a name wins", "a=1; a=2", { a: "1" }],
    ["'=' inside a value is kept", "a=x=y==", { a: "x=y==" }],
    ["a %-escaped value is decoded", "a=%E2%9C%93%20ok", { a: "✓ ok" }],
    ["a malformed %-escape counts as absent", "a=%E0%A4%A; b=2", { b: "2" }],
    ["a later cookie of that name still counts", "a=%zz; a=ok", { a: "ok" }],
    ["a part without '=' is skipped", "junk; a=1; ;", { a: "1" }],
  ];
  it.each(cases)("%s", (_, header, expected) => {
    expect(Object.fromEntries(parseCookies(header))).toEqual(expected);
  });
});
