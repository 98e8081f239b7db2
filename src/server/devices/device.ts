import { randomUUID } from "node:crypto";
import { UAParser } from "ua-parser-js";
import type { Db } from "~/server/platform/db";
import { cleanDeviceName } from "~/server/devices/device-name";
import { sha256 } from "~/server/platform/crypto";

export interface ParsedUserAgent {
  browser: string | null;
  os: string | null;
  deviceType: "desktop" | "mobile" | "tablet" | "other";
  name: string;
}

export function parseUserAgent(userAgent: string): ParsedUserAgent {
  const ua = new UAParser(userAgent).getResult();
  const browser = ua.browser.name ? ua.browser.name : null;
  // Browsers freeze the macOS version in the user agent at 10.15, so it tells nothing: leave it out.
  const osName = ua.os.name === "Mac OS" ? "macOS" : ua.os.name;
  const osVersion = osName === "macOS" ? undefined : ua.os.version?.split(".")[0];
  const os = osName ? [osName, osVersion].filter(Boolean).join(" ") : null;
  const type = ua.device.type;
  const deviceType = type === "mobile" ? "mobile" : type === "tablet" ? "tablet" : type ? "other" : "desktop";
  // Parts of the user agent can end up in the name, and names are shown where the owner decides.
  const name = cleanDeviceName(browser && os ? `${browser} on ${os}` : (browser ?? os ?? "")) || "Unknown device";
  return { browser, os, deviceType, name };
}

/**
 * Finds the device a browser signed in from before (by the id in its long-lived device cookie,
 * which only counts when the server issued it, see platform/cookies.ts, and is stored only as a hash; a token
 * client's deviceKey is used the same way) or records a new one, and refreshes the IP address record. Both are one
 * INSERT ... ON CONFLICT each, so racing sign-ins from one browser (a double submit) share one row
 * instead of failing on the unique key. A forgotten device's row has its cookie hash rewritten
 * (src/server/devices/user-devices.ts), so the same browser then inserts a new device.
 */
export async function recordDeviceSignIn(
  db: Db,
  input: { userId: string; deviceCookie: string; userAgent: string; ip: string; now?: Date; name?: string },
): Promise<{ id: string; name: string; isNew: boolean }> {
  const now = input.now ?? new Date();
  const cookieHash = sha256(input.deviceCookie);
  const ua = parseUserAgent(input.userAgent);
  // A token client names itself (deviceName); a browser is named after its user agent.
  const name = input.name ?? ua.name;
  const [device] = await db.$queryRaw<{ id: string; name: string; inserted: boolean }[]>`
    INSERT INTO "Device" ("id", "userId", "cookieHash", "name", "userAgent", "browser", "os", "deviceType", "firstSeenAt", "lastSeenAt")
    VALUES (${randomUUID()}::uuid, ${input.userId}::uuid, ${cookieHash}, ${name}, ${input.userAgent}, ${ua.browser}, ${ua.os}, ${ua.deviceType}, ${now}, ${now})
    ON CONFLICT ("userId", "cookieHash") DO UPDATE SET
      "lastSeenAt" = EXCLUDED."lastSeenAt", "userAgent" = EXCLUDED."userAgent",
      "browser" = EXCLUDED."browser", "os" = EXCLUDED."os", "deviceType" = EXCLUDED."deviceType",
      "name" = CASE WHEN ${input.name !== undefined} THEN EXCLUDED."name" ELSE "Device"."name" END
    RETURNING "id"::text AS "id", "name", (xmax = 0) AS "inserted"`;
  await db.$executeRaw`
    INSERT INTO "IpAddress" ("id", "userId", "address", "firstSeenAt", "lastSeenAt")
    VALUES (${randomUUID()}::uuid, ${input.userId}::uuid, ${input.ip}, ${now}, ${now})
    ON CONFLICT ("userId", "address") DO UPDATE SET "lastSeenAt" = EXCLUDED."lastSeenAt"`;
  return { id: device!.id, name: device!.name, isNew: device!.inserted };
}

export async function deviceNameOf(db: Db, deviceId: string): Promise<string> {
  const device = deviceId ? await db.device.findUnique({ where: { id: deviceId }, select: { name: true } }).catch(() => null) : null;
  return device?.name ?? "Unknown device";
}
