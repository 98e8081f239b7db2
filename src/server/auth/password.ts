import os from "node:os";
import { hash, verify } from "@node-rs/argon2";
import { HashPool, HashWorkerUnavailable } from "./hash-pool";

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
let workersUsable = true;

// Where worker threads cannot run argon2, the same limit applies to libuv's pool instead.
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

async function onWorker<T>(job: Parameters<HashPool["run"]>[0], inProcess: () => Promise<T>): Promise<T> {
  if (workersUsable) {
    try {
      return (await pool.run(job)) as T;
    } catch (error) {
      if (!(error instanceof HashWorkerUnavailable)) throw error;
      workersUsable = false;
      console.warn(`${error.message}; hashing passwords on libuv's thread pool from now on.`);
    }
  }
  return limited(inProcess);
}

export function hashPassword(password: string): Promise<string> {
  return onWorker({ op: "hash", password, options: PASSWORD_HASH_OPTIONS }, () => hash(password, PASSWORD_HASH_OPTIONS));
}

const verifyHash = (hashed: string, password: string) => onWorker<boolean>({ op: "verify", hashed, password }, () => verify(hashed, password));

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
