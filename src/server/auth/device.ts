import { UAParser } from "ua-parser-js";
import type { Db } from "~/server/db";
import { sha256 } from "./tokens";

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
  const name = browser && os ? `${browser} on ${os}` : browser ?? os ?? "Unknown device";
  return { browser, os, deviceType, name };
}

/**
 * Finds the device a browser signed in from before (by its long-lived device cookie, which is
 * stored only as a hash) or records a new one, and refreshes the IP address record.
 */
export async function recordDeviceSignIn(
  db: Db,
  input: { userId: string; deviceCookie: string; userAgent: string; ip: string; now?: Date },
): Promise<{ id: string; name: string; isNew: boolean }> {
  const now = input.now ?? new Date();
  const cookieHash = sha256(input.deviceCookie);
  const parsed = parseUserAgent(input.userAgent);
  const existing = await db.device.findUnique({ where: { userId_cookieHash: { userId: input.userId, cookieHash } } });
  let device: { id: string; name: string; isNew: boolean };
  if (existing && !existing.forgottenAt) {
    await db.device.update({
      where: { id: existing.id },
      data: { lastSeenAt: now, userAgent: input.userAgent, browser: parsed.browser, os: parsed.os, deviceType: parsed.deviceType },
    });
    device = { id: existing.id, name: existing.name, isNew: false };
  } else {
    // Forgetting a device rewrites its cookie hash (src/server/auth/control.ts), so its browser
    // signs in as a new device; this guards a row forgotten some other way.
    if (existing) await db.device.update({ where: { id: existing.id }, data: { cookieHash: `forgotten:${existing.id}` } });
    const created = await db.device.create({
      data: {
        userId: input.userId,
        cookieHash,
        name: parsed.name,
        userAgent: input.userAgent,
        browser: parsed.browser,
        os: parsed.os,
        deviceType: parsed.deviceType,
        firstSeenAt: now,
        lastSeenAt: now,
      },
    });
    device = { id: created.id, name: created.name, isNew: true };
  }
  await db.ipAddress.upsert({
    where: { userId_address: { userId: input.userId, address: input.ip } },
    create: { userId: input.userId, address: input.ip, firstSeenAt: now, lastSeenAt: now },
    update: { lastSeenAt: now },
  });
  return device;
}
