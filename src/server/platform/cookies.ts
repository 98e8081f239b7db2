import crypto from "node:crypto";
import { parseCookie, stringifySetCookie } from "cookie";
import { sealData, unsealData } from "iron-session";
import { randomToken } from "~/server/platform/crypto";

export interface CookieOptions {
  secure: boolean;
  secret: string;
  sessionMaxAgeSeconds: number;
}

// "__Host-" makes the browser refuse the cookie unless it is Secure, host-only and path=/.
export const sessionCookieName = (secure: boolean) => (secure ? "__Host-handoff_session" : "handoff_session");
export const deviceCookieName = (secure: boolean) => (secure ? "__Host-handoff_device" : "handoff_device");

const DEVICE_COOKIE_MAX_AGE = 400 * 24 * 60 * 60; // the most browsers keep a cookie

// The `cookie` package parses and writes the headers (RFC 6265 syntax, name and value checks);
// these wrappers fix what we always send: host-wide, HttpOnly, SameSite=Lax, Secure over https.

/** The Cookie header's cookies; the first of a name wins, and a malformed %-escape counts as absent. */
export function parseCookies(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const [name, value] of Object.entries(parseCookie(header ?? "", { decode: decodeOrAbsent }))) if (value !== undefined) cookies.set(name, value);
  return cookies;
}

function decodeOrAbsent(value: string): string | undefined {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

export function serializeCookie(name: string, value: string, options: { maxAge: number; secure: boolean }): string {
  return stringifySetCookie(name, value, { path: "/", httpOnly: true, sameSite: "lax", maxAge: options.maxAge, secure: options.secure });
}

/** The session cookie: the session token sealed (encrypted and signed) with iron-session. */
export async function sealSessionCookie(token: string, options: CookieOptions): Promise<string> {
  const sealed = await sealData({ token }, { password: options.secret, ttl: options.sessionMaxAgeSeconds });
  // The browser sends it back at once (the page after a sign-in): no need to decrypt what was just sealed.
  rememberUnsealed(options.secret, sealed, token, Date.now());
  return serializeCookie(sessionCookieName(options.secure), sealed, { maxAge: options.sessionMaxAgeSeconds, secure: options.secure });
}

// Unsealing (two PBKDF2 derivations, AES-CBC and HMAC through WebCrypto) was the largest cost of a
// validated request after Next.js itself. The result for a given cookie value never changes, so
// recent ones are remembered: a bounded LRU keyed by the exact cookie value and secret, entries
// kept one minute. It only skips the decryption; the session itself is still checked in Redis on
// every request, so a revoked session fails at once.
const UNSEAL_CACHE_SIZE = 10_000;
const UNSEAL_CACHE_MS = 60_000;
const unsealedBySecret = new Map<string, Map<string, { token: string; until: number }>>();

function unsealedFor(secret: string) {
  let unsealed = unsealedBySecret.get(secret);
  if (!unsealed) unsealedBySecret.set(secret, (unsealed = new Map()));
  return unsealed;
}

function rememberUnsealed(secret: string, value: string, token: string, now: number) {
  const unsealed = unsealedFor(secret);
  unsealed.delete(value);
  unsealed.set(value, { token, until: now + UNSEAL_CACHE_MS });
  if (unsealed.size > UNSEAL_CACHE_SIZE) unsealed.delete(unsealed.keys().next().value!);
}

export async function unsealSessionCookie(value: string | undefined, secret: string): Promise<string | null> {
  if (!value || value.length > 4096) return null;
  const unsealed = unsealedFor(secret);
  const now = Date.now();
  const hit = unsealed.get(value);
  if (hit && hit.until > now) {
    unsealed.delete(value);
    unsealed.set(value, hit);
    return hit.token;
  }
  let token: string | null;
  try {
    const data = await unsealData<{ token?: unknown }>(value, { password: secret });
    token = typeof data.token === "string" ? data.token : null;
  } catch {
    token = null;
  }
  // Only valid seals are remembered: garbage cookies cannot fill the cache.
  if (token) rememberUnsealed(secret, value, token, now);
  return token;
}

export const clearSessionCookie = (secure: boolean) => serializeCookie(sessionCookieName(secure), "", { maxAge: 0, secure });

// The device cookie is "<id>.<mac>": a random id the server chose and an HMAC of it under a key
// derived from SESSION_SECRET. Only a cookie this server issued names a device: a value planted in
// the browser beforehand (over plain http, or from a sibling subdomain) would otherwise become the
// victim's known device once they sign in, and the planter could then skip new-device approval
// with the password alone. Devices are stored by the hash of the id.
// Browsers still holding a cookie from before the MAC (a bare id) get a new cookie and are a new
// device once: accepting their old id would accept exactly the values an attacker could plant.
const DEVICE_ID = /^[A-Za-z0-9_-]{43}$/;
const deviceMacKeys = new Map<string, Buffer>();

function deviceMac(id: string, secret: string): Buffer {
  let key = deviceMacKeys.get(secret);
  if (!key) deviceMacKeys.set(secret, (key = Buffer.from(crypto.hkdfSync("sha256", secret, "handoff", "device cookie mac", 32))));
  return crypto.createHmac("sha256", key).update(id).digest();
}

/** The device id a device cookie carries, or null unless this server issued it (under this secret). */
export function verifiedDeviceId(value: string | undefined, secret: string): string | null {
  if (!value || value.length > 128) return null;
  const dot = value.indexOf(".");
  const id = value.slice(0, dot);
  if (dot < 0 || !DEVICE_ID.test(id)) return null;
  // Compared as text: base64 decoding skips stray characters, so only the exact issued value counts.
  const mac = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(deviceMac(id, secret).toString("base64url"));
  return mac.length === expected.length && crypto.timingSafeEqual(mac, expected) ? id : null;
}

/**
 * A new device: its id (what the server stores, hashed) and the cookie that proves it. With
 * `trustNonce`, the id is derived from it under a key only this server has (see ClientInfo's
 * reissueDeviceCookie): concurrent sign-ins of one browser, sharing the nonce, get the same id.
 */
export function newDeviceCookie(options: { secure: boolean; secret: string; trustNonce?: string }): { id: string; value: string; header: string } {
  const id =
    options.trustNonce === undefined
      ? randomToken(32)
      : crypto.createHmac("sha256", deviceMac("device trust", options.secret)).update(options.trustNonce).digest("base64url");
  const value = `${id}.${deviceMac(id, options.secret).toString("base64url")}`;
  return { id, value, header: serializeCookie(deviceCookieName(options.secure), value, { maxAge: DEVICE_COOKIE_MAX_AGE, secure: options.secure }) };
}

/** The browser secret a handoff recipient needs to collect its session: "<request id>.<secret>". */
export const handoffCookieName = (secure: boolean) => (secure ? "__Host-handoff_pending" : "handoff_pending");

export function handoffCookie(id: string, browserSecret: string, options: { secure: boolean; maxAgeSeconds: number }): string {
  return serializeCookie(handoffCookieName(options.secure), `${id}.${browserSecret}`, { maxAge: options.maxAgeSeconds, secure: options.secure });
}

export const clearHandoffCookie = (secure: boolean) => serializeCookie(handoffCookieName(secure), "", { maxAge: 0, secure });

/** The secret for request `id` from a "<id>.<secret>" cookie, if this browser holds it. */
export function secretFor(cookieValue: string | undefined, id: string): string | undefined {
  if (!cookieValue) return undefined;
  const dot = cookieValue.indexOf(".");
  return dot > 0 && cookieValue.slice(0, dot) === id ? cookieValue.slice(dot + 1) : undefined;
}

/** The secret a new device needs to collect its session once approved: "<request id>.<secret>". */
export const approvalCookieName = (secure: boolean) => (secure ? "__Host-handoff_approval" : "handoff_approval");

export function approvalCookie(id: string, browserSecret: string, options: { secure: boolean; maxAgeSeconds: number }): string {
  return serializeCookie(approvalCookieName(options.secure), `${id}.${browserSecret}`, { maxAge: options.maxAgeSeconds, secure: options.secure });
}

export const clearApprovalCookie = (secure: boolean) => serializeCookie(approvalCookieName(secure), "", { maxAge: 0, secure });

/** The browser a second-factor challenge was given to: "<challenge id>.<secret>" (a code typed in any other browser is refused). */
export const twoFactorCookieName = (secure: boolean) => (secure ? "__Host-handoff_2fa" : "handoff_2fa");

export function twoFactorCookie(id: string, browserSecret: string, options: { secure: boolean; maxAgeSeconds: number }): string {
  return serializeCookie(twoFactorCookieName(options.secure), `${id}.${browserSecret}`, { maxAge: options.maxAgeSeconds, secure: options.secure });
}

export const clearTwoFactorCookie = (secure: boolean) => serializeCookie(twoFactorCookieName(secure), "", { maxAge: 0, secure });
