import { locateAll, type Place } from "~/server/platform/geo";

// Suspicious sign-in detection. A successful sign-in is flagged when it comes from a new device
// AND a country the account never signed in from, or when reaching it from the previous sign-in's
// place would take more than 1000 km/h ("impossible travel"). IP geolocation is city-level at best,
// so distances under 500 km never count as travel.

type SuspiciousReason = "new_device_new_country" | "impossible_travel";

export interface SignInWarning {
  reason: SuspiciousReason;
  message: string;
}

const IMPOSSIBLE_SPEED_KMH = 1000;
const MIN_TRAVEL_KM = 500;

/** What the account did before this sign-in: read in the statement that records it (devices/device.ts). */
export interface SignInHistory {
  last: { ip: string; at: Date } | null;
  addresses: string[];
}

/** How many of the account's most recent addresses a sign-in is compared with (devices/device.ts reads them). */
export const SIGN_IN_HISTORY_ADDRESSES = 200;

function distanceKm(a: Place, b: Place): number | null {
  if (a.latitude === null || a.longitude === null || b.latitude === null || b.longitude === null) return null;
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

export async function assessSignIn(history: SignInHistory, current: { place: Place; newDevice: boolean; at: Date }): Promise<SignInWarning | null> {
  const places = await locateAll([...history.addresses, ...(history.last ? [history.last.ip] : [])]);
  if (history.last) {
    const previous = places.get(history.last.ip)!;
    const km = distanceKm(previous, current.place);
    if (km !== null && km >= MIN_TRAVEL_KM) {
      const hours = Math.max((current.at.getTime() - history.last.at.getTime()) / 3_600_000, 1 / 3600);
      const speed = km / hours;
      if (speed > IMPOSSIBLE_SPEED_KMH) {
        return {
          reason: "impossible_travel",
          message: `Signed in from ${current.place.label}, ${Math.round(km).toLocaleString("en")} km from the previous sign-in (${previous.label}) ${describeGap(hours)} earlier: faster than any flight.`,
        };
      }
    }
  }
  if (current.newDevice && current.place.countryCode && history.addresses.length > 0) {
    const countries = new Set([...places.values()].map((p) => p.countryCode).filter(Boolean));
    if (!countries.has(current.place.countryCode)) {
      return {
        reason: "new_device_new_country",
        message: `Signed in from a new device in ${current.place.country}, a country this account never signed in from before.`,
      };
    }
  }
  return null;
}

function describeGap(hours: number): string {
  if (hours < 1) return `${Math.max(1, Math.round(hours * 60))} min`;
  if (hours < 48) return `${Math.round(hours)} h`;
  return `${Math.round(hours / 24)} days`;
}
