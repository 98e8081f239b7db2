import type { ClientInfo } from "~/server/auth/types";
import { clientBlockOf, clientIp } from "~/server/platform/client-ip";
import {
  approvalCookieName,
  deviceCookieName,
  handoffCookieName,
  newDeviceCookie,
  parseCookies,
  sessionCookieName,
  twoFactorCookieName,
  verifiedDeviceId,
} from "~/server/platform/cookies";
import type { Services } from "~/server/services";

export interface RequestContextInput {
  headers: Headers;
  /** Where Set-Cookie headers go; null where a response cannot set cookies (server components). */
  resHeaders: Headers | null;
  /** Resolved inside procedures (not here), so an unreachable database maps to a typed error. */
  services: () => Promise<Services>;
}

export function createContext(input: RequestContextInput) {
  return { headers: input.headers, resHeaders: input.resHeaders, loadServices: input.services };
}

/** Request helpers that need the services' configuration (cookie names, proxy trust). */
export function requestHelpers(headers: Headers, resHeaders: Headers | null, config: Services["config"], options: { ignoreCookies?: boolean } = {}) {
  const cookies = parseCookies(options.ignoreCookies ? null : headers.get("cookie"));
  const setCookie = (header: string) => {
    resHeaders?.append("set-cookie", header);
  };
  return {
    setCookie,
    sessionCookie: cookies.get(sessionCookieName(config.secureCookies)),
    handoffCookie: cookies.get(handoffCookieName(config.secureCookies)),
    approvalCookie: cookies.get(approvalCookieName(config.secureCookies)),
    twoFactorCookie: cookies.get(twoFactorCookieName(config.secureCookies)),
    ip: () => clientIp(headers, config.trustProxy),
    /** What per-address limits count: the client's address, an IPv6 client's whole /64 (platform/client-ip.ts). */
    network: () => clientBlockOf(clientIp(headers, config.trustProxy)),
    /**
     * The request's client. Its device is the id of a device cookie this server issued; a browser
     * without one, or with any other value (planted, tampered, from before cookies were signed),
     * gets a new device cookie (set on the response).
     */
    client(): ClientInfo {
      const name = deviceCookieName(config.secureCookies);
      let deviceId = verifiedDeviceId(cookies.get(name), config.sessionSecret);
      if (!deviceId) {
        const minted = newDeviceCookie({ secure: config.secureCookies, secret: config.sessionSecret });
        deviceId = minted.id;
        cookies.set(name, minted.value);
        setCookie(minted.header);
      }
      return {
        ip: clientIp(headers, config.trustProxy),
        userAgent: (headers.get("user-agent") ?? "").slice(0, 512),
        deviceCookie: deviceId,
        reissueDeviceCookie(trustNonce: string) {
          const reissued = newDeviceCookie({ secure: config.secureCookies, secret: config.sessionSecret, trustNonce });
          cookies.set(name, reissued.value);
          setCookie(reissued.header);
          return reissued.id;
        },
      };
    },
  };
}

export type Context = ReturnType<typeof createContext>;
