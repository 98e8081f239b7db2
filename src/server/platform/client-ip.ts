import { BlockList, isIP } from "node:net";

/** Header set from the TCP peer address by src/instrumentation.ts; any client-sent value is overwritten. */
export const PEER_ADDRESS_HEADER = "x-handoff-peer-address";

const IPV4_MAPPED = new BlockList();
IPV4_MAPPED.addSubnet("::ffff:0:0", 96, "ipv6");

/**
 * An IPv4 client as IPv4 however it is written (a dual-stack socket says ::ffff:1.2.3.4, a proxy
 * may send ::ffff:102:304), so one client has one address in records and per-IP limits.
 */
function unmapped(ip: string): string {
  // A zone id (%eth0) means a link-local peer, never an IPv4 client; the URL parser refuses it.
  if (isIP(ip) !== 6 || ip.includes("%") || !IPV4_MAPPED.check(ip, "ipv6")) return ip;
  // The URL parser writes IPv6 canonically (lower-case hex groups), so the last two groups hold the IPv4 address.
  const groups = new URL(`http://[${ip}]`).hostname.slice(1, -1).split(":");
  const [high, low] = groups.slice(-2).map((group) => parseInt(group, 16)) as [number, number];
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

function clean(address: string | null | undefined): string | null {
  if (!address) return null;
  let a = address.trim();
  if (a.startsWith("[") && a.includes("]")) a = a.slice(1, a.indexOf("]"));
  return isIP(a) ? unmapped(a) : null;
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

/**
 * The block one client controls, for limits on what it holds: an IPv4 address as is, an IPv6
 * address's /64 (one subscriber is routinely given a whole /64, so per-address counts on IPv6
 * would let one client use 2^64 addresses).
 */
export function clientBlockOf(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const groups = new URL(`http://[${ip.split("%")[0]}]`).hostname.slice(1, -1);
  // Canonical form: expand "::" so the first four groups can be read.
  const [head = "", tail = ""] = groups.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const all = groups.includes("::") ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right] : left;
  return `${all.slice(0, 4).join(":")}::/64`;
}
