import os from "node:os";
import { hash, verify } from "@node-rs/argon2";
import { clientBlockOf } from "~/server/platform/client-ip";
import { HashPool, KeyedAdmission } from "~/server/platform/hash-pool";
import {
  PASSWORD_CHECKS_PER_ACCOUNT,
  PASSWORD_CHECKS_PER_IP,
  PASSWORD_CHECKS_WAITING_PER_KEY,
  PASSWORD_HASH_NICE_DEFAULT,
  PASSWORD_HASH_OPTIONS,
} from "~/server/policy";

// A burst of sign-ins must not starve the thread that serves everything else. The hashing threads
// run at a lower CPU priority (hash-pool.ts), so the scheduler serves requests first and hashing
// may use every core that is left: as many threads as cores. At the same priority
// (PASSWORD_HASH_NICE=0) one core is kept for requests: cores - 1 threads (at least 1). Further
// sign-ins wait their turn. (BENCHMARKS.md, section 3, 2 cores: sign-ins/s nearly double; the
// session-check tail during a burst is dominated by other things, see there.)
const HASH_NICE = process.env.PASSWORD_HASH_NICE ? Number(process.env.PASSWORD_HASH_NICE) : PASSWORD_HASH_NICE_DEFAULT;
const CORES = os.availableParallelism?.() ?? os.cpus().length;
const MAX_CONCURRENT_HASHES = Math.max(1, Number(process.env.PASSWORD_HASH_CONCURRENCY) || (HASH_NICE > 0 ? CORES : CORES - 1));

// Password checks admitted at once per account and per IP address, and how many more may wait
// (outside the pool) before further ones are refused (PASSWORD_CHECKS_* in policy.ts): a client with many concurrent wrong
// passwords (or many accounts) then delays another user's sign-in by a few hashes at most.

// One pool per process, kept on globalThis so dev-mode reloads of this module reuse its workers.
const globalForHashing = globalThis as unknown as { handoffHashPool?: HashPool; handoffPasswordAdmission?: KeyedAdmission };
const pool = (globalForHashing.handoffHashPool ??= new HashPool(MAX_CONCURRENT_HASHES, HASH_NICE));
const admission = (globalForHashing.handoffPasswordAdmission ??= new KeyedAdmission());

/** Hashes run in this process, and the most that one job found ahead of it since the last reset (for tests and metrics). */
export const passwordHashingStats = () => ({ ...pool.stats });
export function resetPasswordHashingStats() {
  pool.stats.jobs = 0;
  pool.stats.aheadMax = 0;
}

export function hashPassword(password: string): Promise<string> {
  return pool.run({ op: "hash", password, options: PASSWORD_HASH_OPTIONS }, () => hash(password, PASSWORD_HASH_OPTIONS));
}

const verifyHash = (hashed: string, password: string) => pool.run({ op: "verify", hashed, password }, () => verify(hashed, password));

let dummyHash: Promise<string> | undefined;

/**
 * Verifies a password against a stored hash. With no stored hash (unknown email) it verifies
 * against a dummy hash with the same parameters, so both answers take the same time.
 */
export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    dummyHash ??= hashPassword("handoff-dummy-password-for-timing");
    const dummy = await dummyHash;
    await verifyHash(dummy, password).catch(() => false);
    return false;
  }
  try {
    return await verifyHash(storedHash, password);
  } catch {
    return false;
  }
}

/**
 * Admission for one password check (security/throttle.ts's checkPassword): waits while this account or IP
 * already has its share of checks running; refuses (AdmissionFullError, kind "account" | "ip")
 * when too many more are waiting. `release` when done, whether or not `verify` ran.
 */
export async function admitPasswordCheck(source: { account: string; ip: string }) {
  const release = await admission.enter([
    { name: `account:${source.account}`, kind: "account", limit: PASSWORD_CHECKS_PER_ACCOUNT, backlog: PASSWORD_CHECKS_WAITING_PER_KEY },
    { name: `ip:${clientBlockOf(source.ip)}`, kind: "ip", limit: PASSWORD_CHECKS_PER_IP, backlog: PASSWORD_CHECKS_WAITING_PER_KEY },
  ]);
  return { verify: verifyPassword, release };
}
