import os from "node:os";
import { hash, verify } from "@node-rs/argon2";

// OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
// Algorithm is a const enum in @node-rs/argon2's types, which isolatedModules cannot read: 2 = Argon2id.
const ARGON2ID = 2;
export const PASSWORD_HASH_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

// argon2 runs on libuv's thread pool, off the event loop, but a burst of sign-ins can still take
// every core and starve the thread that serves everything else. Hash on at most cores - 1
// threads at once (at least 1); further sign-ins wait their turn.
const MAX_CONCURRENT_HASHES = Math.max(1, Number(process.env.PASSWORD_HASH_CONCURRENCY) || (os.availableParallelism?.() ?? os.cpus().length) - 1);
let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, PASSWORD_HASH_OPTIONS));
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies a password against a stored hash. With no stored hash (unknown email) it verifies
 * against a dummy hash with the same parameters, so both answers take the same time.
 */
export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    dummyHash ??= hashPassword("handoff-dummy-password-for-timing");
    const dummy = await dummyHash;
    await limited(() => verify(dummy, password)).catch(() => false);
    return false;
  }
  try {
    return await limited(() => verify(storedHash, password));
  } catch {
    return false;
  }
}
