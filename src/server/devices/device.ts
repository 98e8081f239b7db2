import { randomUUID } from "node:crypto";
import { UAParser } from "ua-parser-js";
import type { Db } from "~/server/platform/db";
import { cleanDeviceName } from "~/server/devices/device-name";
import { sha256 } from "~/server/platform/crypto";
import { SIGN_IN_HISTORY_ADDRESSES, type SignInHistory } from "~/server/security/suspicious";

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
 *
 * The same statement reads what the account did before (`history`, for security/suspicious.ts): its
 * last successful sign-in and its known addresses. All parts of one statement see the database as it
 * was when the statement began, so the history does not include this sign-in, and a sign-in costs one
 * round trip here instead of four.
 */
export async function recordDeviceSignIn(
  db: Db,
  input: { userId: string; deviceCookie: string; userAgent: string; ip: string; now?: Date; name?: string },
): Promise<{ id: string; name: string; isNew: boolean; history: SignInHistory }> {
  const now = input.now ?? new Date();
  const cookieHash = sha256(input.deviceCookie);
  const ua = parseUserAgent(input.userAgent);
  // A token client names itself (deviceName); a browser is named after its user agent.
  const name = input.name ?? ua.name;
  const [row] = await db.$queryRaw<{ id: string; name: string; inserted: boolean; lastIp: string | null; lastAt: Date | null; addresses: string[] }[]>`
    WITH "last" AS (
      SELECT "ip", "createdAt" FROM "LoginEvent"
      WHERE "userId" = ${input.userId}::uuid AND "outcome" = 'success'
      ORDER BY "createdAt" DESC LIMIT 1
    ), "address" AS (
      INSERT INTO "IpAddress" ("id", "userId", "address", "firstSeenAt", "lastSeenAt")
      VALUES (${randomUUID()}::uuid, ${input.userId}::uuid, ${input.ip}, ${now}, ${now})
      ON CONFLICT ("userId", "address") DO UPDATE SET "lastSeenAt" = EXCLUDED."lastSeenAt"
    ), "device" AS (
      INSERT INTO "Device" ("id", "userId", "cookieHash", "name", "userAgent", "browser", "os", "deviceType", "firstSeenAt", "lastSeenAt")
      VALUES (${randomUUID()}::uuid, ${input.userId}::uuid, ${cookieHash}, ${name}, ${input.userAgent}, ${ua.browser}, ${ua.os}, ${ua.deviceType}, ${now}, ${now})
      ON CONFLICT ("userId", "cookieHash") DO UPDATE SET
        "lastSeenAt" = EXCLUDED."lastSeenAt", "userAgent" = EXCLUDED."userAgent",
        "browser" = EXCLUDED."browser", "os" = EXCLUDED."os", "deviceType" = EXCLUDED."deviceType",
        "name" = CASE WHEN ${input.name !== undefined} THEN EXCLUDED."name" ELSE "Device"."name" END
      RETURNING "id"::text AS "id", "name", (xmax = 0) AS "inserted"
    )
    SELECT "device"."id", "device"."name", "device"."inserted",
      (SELECT "ip" FROM "last") AS "lastIp", (SELECT "createdAt" FROM "last") AS "lastAt",
      ARRAY(SELECT "a"."address" FROM "IpAddress" "a" WHERE "a"."userId" = ${input.userId}::uuid ORDER BY "a"."lastSeenAt" DESC LIMIT ${SIGN_IN_HISTORY_ADDRESSES}) AS "addresses"
    FROM "device"`;
  return {
    id: row!.id,
    name: row!.name,
    isNew: row!.inserted,
    history: { last: row!.lastIp !== null && row!.lastAt !== null ? { ip: row!.lastIp, at: row!.lastAt } : null, addresses: row!.addresses },
  };
}

export async function deviceNameOf(db: Db, deviceId: string): Promise<string> {
  const device = deviceId ? await db.device.findUnique({ where: { id: deviceId }, select: { name: true } }).catch(() => null) : null;
  return device?.name ?? "Unknown device";
}
