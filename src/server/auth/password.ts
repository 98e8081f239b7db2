import os from "node:os";
import { hash, verify } from "@node-rs/argon2";
import { HashPool } from "./hash-pool";

// OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
// Algorithm is a const enum in @node-rs/argon2's types, which isolatedModules cannot read: 2 = Argon2id.
const ARGON2ID = 2;
export const PASSWORD_HASH_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

// A burst of sign-ins must not starve the thread that serves everything else: hash on at most
// cores - 1 threads at once (at least 1), further sign-ins wait their turn, and those threads run
// at a lower CPU priority (hash-pool.ts).
const MAX_CONCURRENT_HASHES = Math.max(1, Number(process.env.PASSWORD_HASH_CONCURRENCY) || (os.availableParallelism?.() ?? os.cpus().length) - 1);
const HASH_NICE = process.env.PASSWORD_HASH_NICE ? Number(process.env.PASSWORD_HASH_NICE) : 10;

// One pool per process, kept on globalThis so dev-mode reloads of this module reuse its workers.
const globalForHashing = globalThis as unknown as { handoffHashPool?: HashPool };
const pool = (globalForHashing.handoffHashPool ??= new HashPool(MAX_CONCURRENT_HASHES, HASH_NICE));

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
