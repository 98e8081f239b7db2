import { randomUUID } from "node:crypto";
import { UAParser } from "ua-parser-js";
import type { Db } from "~/server/platform/db";
import type { LoginMethod } from "~/generated/prisma/enums";
import { loginEventEmail, loginEventUserAgent } from "~/server/auth/login-events";
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

/** The sign-in history row recorded with the device (auth/login-events.ts amends it if the sign-in is then refused). */
export interface SignInRow {
  email: string;
  method: LoginMethod;
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
 * last successful sign-in and its known addresses, and writes this sign-in's history row (outcome
 * success; `loginEventId`). With `passwordHash`, it writes only while the account's
 * hash is still that one (a password sign-in's check after the session epoch was read, see
 * auth/sign-in.ts). All parts of one statement see the database as it was when the statement
 * began, so the history does not include this sign-in, and a sign-in costs one round trip here.
 *
 * null: nothing was written, because the account is gone or its password is no longer `passwordHash`.
 */
export async function recordDeviceSignIn(
  db: Db,
  input: { userId: string; deviceCookie: string; userAgent: string; ip: string; now?: Date; name?: string; passwordHash?: string; signIn: SignInRow },
): Promise<{ id: string; name: string; isNew: boolean; history: SignInHistory; loginEventId: string } | null> {
  const now = input.now ?? new Date();
  const cookieHash = sha256(input.deviceCookie);
  const ua = parseUserAgent(input.userAgent);
  // A token client names itself (deviceName); a browser is named after its user agent.
  const name = input.name ?? ua.name;
  const loginEventId = randomUUID();
  const [row] = await db.$queryRaw<{ id: string; name: string; inserted: boolean; lastIp: string | null; lastAt: Date | null; addresses: string[] }[]>`
    WITH "account" AS (
      SELECT "id" FROM "User"
      WHERE "id" = ${input.userId}::uuid AND (${input.passwordHash ?? null}::text IS NULL OR "passwordHash" = ${input.passwordHash ?? null}::text)
    ), "last" AS (
      SELECT "ip", "createdAt" FROM "LoginEvent"
      WHERE "userId" = ${input.userId}::uuid AND "outcome" = 'success'
      ORDER BY "createdAt" DESC LIMIT 1
    ), "address" AS (
      INSERT INTO "IpAddress" ("id", "userId", "address", "firstSeenAt", "lastSeenAt")
      SELECT ${randomUUID()}::uuid, "account"."id", ${input.ip}, ${now}, ${now} FROM "account"
      ON CONFLICT ("userId", "address") DO UPDATE SET "lastSeenAt" = EXCLUDED."lastSeenAt"
    ), "device" AS (
      INSERT INTO "Device" ("id", "userId", "cookieHash", "name", "userAgent", "browser", "os", "deviceType", "firstSeenAt", "lastSeenAt")
      SELECT ${randomUUID()}::uuid, "account"."id", ${cookieHash}, ${name}, ${input.userAgent}, ${ua.browser}, ${ua.os}, ${ua.deviceType}, ${now}, ${now} FROM "account"
      ON CONFLICT ("userId", "cookieHash") DO UPDATE SET
        "lastSeenAt" = EXCLUDED."lastSeenAt", "userAgent" = EXCLUDED."userAgent",
        "browser" = EXCLUDED."browser", "os" = EXCLUDED."os", "deviceType" = EXCLUDED."deviceType",
        "name" = CASE WHEN ${input.name !== undefined} THEN EXCLUDED."name" ELSE "Device"."name" END
      RETURNING "id", "name", (xmax = 0) AS "inserted"
    ), "event" AS (
      INSERT INTO "LoginEvent" ("id", "userId", "email", "deviceId", "ip", "userAgent", "method", "outcome", "createdAt")
      SELECT ${loginEventId}::uuid, ${input.userId}::uuid, ${loginEventEmail(input.signIn.email)}, "device"."id", ${input.ip},
        ${loginEventUserAgent(input.userAgent)}, ${input.signIn.method}::"LoginMethod", 'success', ${now}
      FROM "device"
    )
    SELECT "device"."id"::text AS "id", "device"."name", "device"."inserted",
      (SELECT "ip" FROM "last") AS "lastIp", (SELECT "createdAt" FROM "last") AS "lastAt",
      ARRAY(SELECT "a"."address" FROM "IpAddress" "a" WHERE "a"."userId" = ${input.userId}::uuid ORDER BY "a"."lastSeenAt" DESC LIMIT ${SIGN_IN_HISTORY_ADDRESSES}) AS "addresses"
    FROM "device"`;
  if (!row) return null;
  return {
    id: row.id,
    name: row.name,
    isNew: row.inserted,
    history: { last: row.lastIp !== null && row.lastAt !== null ? { ip: row.lastIp, at: row.lastAt } : null, addresses: row.addresses },
    loginEventId,
  };
}

export async function deviceNameOf(db: Db, deviceId: string): Promise<string> {
  const device = deviceId ? await db.device.findUnique({ where: { id: deviceId }, select: { name: true } }).catch(() => null) : null;
  return device?.name ?? "Unknown device";
}
