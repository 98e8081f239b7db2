import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { logger } from "~/server/platform/logger";

/**
 * argon2 on a few worker threads of lower CPU priority (a higher nice value).
 *
 * Why: on a small machine a burst of sign-ins keeps a core busy hashing, and every other request
 * (session checks, lists) then queues behind it for CPU. @node-rs/argon2's async functions run on
 * libuv's shared pool, whose threads cannot be told apart or deprioritised. Our own workers can:
 * Linux keeps the nice value per thread, and os.setPriority(0, n) called inside a worker sets it
 * for that thread alone. Under contention the scheduler then serves requests first; an idle
 * machine still gives the hashing all its CPU. (Measured in BENCHMARKS.md, section 3.)
 *
 * Not piscina: its niceIncrement needs another native module and a worker file on disk, which the
 * Next.js build does not emit; this pool is a fixed set of workers running two synchronous calls.
 */

type Job = { op: "hash"; password: string; options: object } | { op: "verify"; hashed: string; password: string };
type Pending = { resolve(value: unknown): void; reject(error: Error): void };

/** The worker could not run (failed to start, crashed): the caller may hash in-process instead. */
class HashWorkerUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HashWorkerUnavailable";
  }
}

// Plain CommonJS, evaluated as the worker's entry (the build emits no separate file).
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const os = require("node:os");
let argon2;
try { argon2 = require("@node-rs/argon2"); } catch { argon2 = require(workerData.argon2Path); }
try { os.setPriority(0, workerData.nice); } catch {}
parentPort.on("message", (job) => {
  try {
    const result = job.op === "hash" ? argon2.hashSync(job.password, job.options) : argon2.verifySync(job.hashed, job.password);
    parentPort.postMessage({ id: job.id, result });
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: String((error && error.message) || error) });
  }
});
`;

function argon2Path(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve("@node-rs/argon2");
  } catch {
    return undefined;
  }
}

class HashWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  dead = false;

  constructor(nice: number) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { nice, argon2Path: argon2Path() } });
    this.worker.unref(); // an idle pool never keeps the process alive
    this.worker.on("message", (message: { id: number; result?: unknown; error?: string }) => {
      const job = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (this.pending.size === 0) this.worker.unref();
      if (message.error !== undefined) job?.reject(new Error(message.error));
      else job?.resolve(message.result);
    });
    const fail = (why: string) => {
      this.dead = true;
      for (const job of this.pending.values()) job.reject(new HashWorkerUnavailable(why));
      this.pending.clear();
    };
    this.worker.on("error", (error) => fail(`The password hashing worker failed: ${error.message}`));
    this.worker.on("exit", (code) => fail(`The password hashing worker exited (${code})`));
  }

  get busy() {
    return this.pending.size > 0;
  }

  run(job: Job): Promise<unknown> {
    const id = this.nextId++;
    this.worker.ref(); // while it works, the answer is awaited
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...job, id });
    });
  }

  stop() {
    return this.worker.terminate();
  }
}

/**
 * At most `size` hashes at once, first come first served, each on an idle worker. When a worker
 * cannot run (it failed to start or died), that job and every later one run `inProcess` instead
 * (libuv's pool), under the same limit.
 */
export class HashPool {
  private readonly workers: HashWorker[] = [];
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private workersUsable = true;
  /** jobs run; aheadMax: the most jobs ever running or queued when a job arrived (what it waited behind). */
  readonly stats = { jobs: 0, aheadMax: 0 };

  constructor(
    private readonly size: number,
    private readonly nice: number,
  ) {}

  async run<T>(job: Job, inProcess: () => Promise<T>): Promise<T> {
    this.stats.jobs++;
    this.stats.aheadMax = Math.max(this.stats.aheadMax, this.active + this.waiting.length);
    // A finishing job hands its slot straight to the next waiter, so no newcomer can slip in between.
    if (this.active < this.size && this.waiting.length === 0) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      if (this.workersUsable) {
        try {
          return (await this.idleWorker().run(job)) as T;
        } catch (error) {
          if (!(error instanceof Error) || error.name !== "HashWorkerUnavailable") throw error;
          this.workersUsable = false;
          logger().warn({ err: error }, "hashing passwords on libuv's thread pool from now on");
        }
      }
      return await inProcess();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Never more workers than `size`: a job holds a slot, and a busy worker one job. */
  private idleWorker(): HashWorker {
    for (let i = this.workers.length - 1; i >= 0; i--) if (this.workers[i]!.dead) this.workers.splice(i, 1);
    const idle = this.workers.find((w) => !w.busy);
    if (idle) return idle;
    let worker: HashWorker;
    try {
      worker = new HashWorker(this.nice);
    } catch (error) {
      throw new HashWorkerUnavailable(`No password hashing worker could start: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.workers.push(worker);
    return worker;
  }

  async close() {
    await Promise.all(this.workers.splice(0).map((w) => w.stop()));
  }
}

/** One limit an admitted job counts against: at most `limit` at once, `backlog` more waiting. */
export interface AdmissionKey {
  name: string;
  /** What the key stands for (told back when it is full), e.g. "account" or "ip". */
  kind: string;
  limit: number;
  backlog: number;
}

/** A job's key already has `limit` jobs running and `backlog` waiting: refused at once. */
export class AdmissionFullError extends Error {
  constructor(readonly kind: string) {
    super(`Too many jobs at once for one ${kind}`);
    this.name = "AdmissionFullError";
  }
}

/**
 * Per-key concurrency in front of the hash pool. The pool is first come first served, so without
 * this one client sending hundreds of password checks at once queues them all ahead of everyone
 * else's sign-in. Here each key (an account, an IP) has at most `limit` jobs admitted at a time;
 * more wait their turn outside the pool (arrival order), and beyond `backlog` waiting they are
 * refused. Another client's job then waits behind at most `limit` jobs of each busy key.
 */
export class KeyedAdmission {
  private readonly admitted = new Map<string, number>();
  private readonly waitingPerKey = new Map<string, number>();
  private readonly waiting: { keys: AdmissionKey[]; admit(): void }[] = [];

  private fits(keys: AdmissionKey[]) {
    return keys.every((k) => (this.admitted.get(k.name) ?? 0) < k.limit);
  }

  private take(keys: AdmissionKey[]) {
    for (const k of keys) this.admitted.set(k.name, (this.admitted.get(k.name) ?? 0) + 1);
  }

  /** Resolves once every key has room; returns the release (call it once, when the job is done). */
  async enter(keys: AdmissionKey[]): Promise<() => void> {
    if (this.fits(keys)) {
      this.take(keys);
    } else {
      const full = keys.find((k) => (this.waitingPerKey.get(k.name) ?? 0) >= k.backlog);
      if (full) throw new AdmissionFullError(full.kind);
      for (const k of keys) this.waitingPerKey.set(k.name, (this.waitingPerKey.get(k.name) ?? 0) + 1);
      await new Promise<void>((resolve) => this.waiting.push({ keys, admit: resolve }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.leave(keys);
    };
  }

  private leave(keys: AdmissionKey[]) {
    for (const k of keys) decrement(this.admitted, k.name);
    for (let i = 0; i < this.waiting.length;) {
      const next = this.waiting[i]!;
      if (!this.fits(next.keys)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      for (const k of next.keys) decrement(this.waitingPerKey, k.name);
      this.take(next.keys);
      next.admit();
    }
  }
}

function decrement(counts: Map<string, number>, name: string) {
  const left = (counts.get(name) ?? 0) - 1;
  if (left > 0) counts.set(name, left);
  else counts.delete(name);
}
