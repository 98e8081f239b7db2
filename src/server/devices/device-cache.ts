import { randomUUID } from "node:crypto";
import type { Redis } from "@upstash/redis";
import { userKey, userSlotKey } from "~/server/platform/redis/keys";
import type { SideWrite } from "~/server/sessions/store";
import { BoundedCache } from "~/server/platform/bounded-cache";
import { LUA_HELPERS } from "~/server/platform/redis/lua";
import { TRUST_NONCE_MS } from "~/server/policy";

/**
 * A user's devices as PostgreSQL has them (rows and each device's sign-in addresses), kept in
 * Redis so `sessions.list` and `devices.list` need no database query on every call: Prisma's two
 * queries were ~1 ms of CPU per list, the largest cost after the framework itself.
 *
 * Correctness rests on a version, not on deleting the entry. Every change to a user's devices
 * (sign-in, rename, forget) writes a new random version *after* its database write commits. A
 * reader takes the version first, then reads the database, and stores what it read under the
 * version it took; an entry is only used while its version is still the current one. So a reader
 * racing with a change can at worst store an entry nobody will use, and a lost version key (eviction,
 * restart) only means a new random version and one more database read.
 */

interface CachedDevice {
  id: string;
  name: string;
  browser: string | null;
  os: string | null;
  deviceType: string;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface UserDevices {
  /** Devices not forgotten, most recently seen first. */
  devices: CachedDevice[];
  /** Each device's sign-in addresses (successful sign-ins), with the last time each was used. */
  addresses: { deviceId: string; ip: string; at: number }[];
}

// KEYS: key. ARGV: value, ttl ms. The value already there, else ARGV[1], stored.
const GET_OR_SET = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`;

// KEYS: version, entry. ARGV: a fresh version (used when there is none), ttl ms, the version the
// caller holds an entry of ('' = none). Returns { version } when that is still the current one,
// else { version, entry or '' }.
const READ = `${LUA_HELPERS}
local version = str(redis.call('GET', KEYS[1]))
if not version then
  version = ARGV[1]
  redis.call('SET', KEYS[1], version, 'PX', tonumber(ARGV[2]))
else
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  if version == ARGV[3] then return { version } end
end
return { version, str(redis.call('GET', KEYS[2])) or '' }
`;

/**
 * Users whose last entry each process keeps parsed, with its version: while the version is
 * current, a read moves neither the entry (~7 KB for 20 devices) nor a JSON.parse of it.
 */
const PARSED_ENTRIES_KEPT = 1_000;

const newVersion = () => randomUUID();

type Entry = { version: string } & UserDevices;

export class DeviceCache {
  private readonly readScript;

  /** Per user, the last entry this process read or stored (see PARSED_ENTRIES_KEPT). */
  private readonly parsed = new BoundedCache<string, Entry>(PARSED_ENTRIES_KEPT);

  private readonly trustNonceScript;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** How long an unused entry stays; every read extends its version's life. */
    private readonly ttlMs: number,
  ) {
    this.readScript = redis.createScript<[string, string?]>(READ);
    this.trustNonceScript = redis.createScript<string>(GET_OR_SET);
  }

  private keys(userId: string) {
    return [userKey(this.prefix, userId, "devices:version"), userKey(this.prefix, userId, "devices")];
  }

  /**
   * The user's devices from the cache, or from `load` (the database) when it has none for the
   * current version. The answer may be shared with other callers: read it, never change it.
   */
  async get(userId: string, load: () => Promise<UserDevices>): Promise<UserDevices> {
    const keys = this.keys(userId);
    const held = this.parsed.get(userId);
    const [version, stored] = await this.readScript.exec(keys, [newVersion(), String(this.ttlMs), held?.version ?? ""]);
    if (held && held.version === version) return held;
    if (stored) {
      const entry = JSON.parse(stored) as Entry;
      if (entry.version === version) {
        this.parsed.set(userId, entry);
        return entry;
      }
    }
    const fresh = await load();
    const entry: Entry = { version, ...fresh };
    await this.redis.set(keys[1]!, JSON.stringify(entry), { px: this.ttlMs });
    this.parsed.set(userId, entry);
    return fresh;
  }

  /** Call after every committed change to the user's devices or their sign-in addresses. */
  async invalidate(userId: string): Promise<void> {
    const write = this.invalidation(userId);
    await this.redis.set(write.key, write.value, { px: write.px });
  }

  /** What invalidate writes, for a script of the user's slot that runs after the change anyway (a sign-in's session creation). */
  invalidation(userId: string): SideWrite {
    return { key: this.keys(userId)[0]!, value: newVersion(), px: this.ttlMs };
  }

  /**
   * The nonce a browser (by the hash of its current device cookie) becomes a trusted device of the
   * user under: the first caller's, for a minute, so a double submit gets one device. Only a nonce
   * is kept here; the cookie's id is derived from it with a key only the app has.
   */
  async trustNonce(userId: string, deviceCookieHash: string): Promise<string> {
    return String(
      await this.trustNonceScript.exec(
        [userSlotKey(this.prefix, userId, `device-trust:${userId}:${deviceCookieHash}`)],
        [randomUUID(), String(TRUST_NONCE_MS)],
      ),
    );
  }
}
