import { isIP } from "node:net";

/** Header set from the TCP peer address by src/instrumentation.ts; any client-sent value is overwritten. */
export const PEER_ADDRESS_HEADER = "x-handoff-peer-address";

function clean(address: string | null | undefined): string | null {
  if (!address) return null;
  let a = address.trim();
  if (a.startsWith("[") && a.includes("]")) a = a.slice(1, a.indexOf("]"));
  if (a.startsWith("::ffff:") && isIP(a.slice(7)) === 4) a = a.slice(7);
  return isIP(a) ? a : null;
}

/**
 * The client's IP: the socket's peer address, or with TRUST_PROXY=true the first hop of
 * X-Forwarded-For (the address the trusted proxy saw). Never a value the client can choose
 * unless a proxy is trusted.
 */
export function clientIp(headers: Headers, trustProxy: boolean): string {
  if (trustProxy) {
    const first = headers.get("x-forwarded-for")?.split(",")[0];
    const forwarded = clean(first);
    if (forwarded) return forwarded;
  }
  return clean(headers.get(PEER_ADDRESS_HEADER)) ?? "0.0.0.0";
}
