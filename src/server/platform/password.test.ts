import fs from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { HashPool } from "~/server/platform/hash-pool";

const run = vi.spyOn(HashPool.prototype, "run");
const verifications = () => run.mock.calls.filter(([job]) => job.op === "verify").length;

const { hashPassword, verifyPassword } = await import("~/server/platform/password");

/** Nice value of each thread of this process (Linux keeps it per thread). */
function threadNiceValues(): Map<number, number> {
  const nice = new Map<number, number>();
  for (const tid of fs.readdirSync("/proc/self/task")) {
    const fields = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ");
    nice.set(Number(tid), Number(fields[16]));
  }
  return nice;
}

describe("password hashing", () => {
  it("uses argon2id with the OWASP parameters (m=19456 KiB, t=2, p=1)", async () => {
    const hash = await hashPassword("correct horse battery staple");
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it("salts every hash and verifies only the right password", async () => {
    const a = await hashPassword("same password");
    const b = await hashPassword("same password");
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, "same password")).toBe(true);
    expect(await verifyPassword(a, "same passworD")).toBe(false);
    expect(await verifyPassword("not-a-hash", "same password")).toBe(false);
  });

  it("does the same argon2 work for an unknown account (no hash) as for a wrong password", async () => {
    const stored = await hashPassword("the real one");
    await verifyPassword(null, "warm-up"); // the dummy hash is made once
    run.mockClear();
    expect(await verifyPassword(stored, "wrong")).toBe(false);
    expect(verifications()).toBe(1);
    run.mockClear();
    expect(await verifyPassword(null, "wrong")).toBe(false);
    expect(verifications()).toBe(1);
  });

  it("handles long and non-ASCII passwords", async () => {
    const long = "ü🔑".repeat(128);
    const hash = await hashPassword(long);
    expect(await verifyPassword(hash, long)).toBe(true);
  });

  it("hashes on worker threads of lower CPU priority; the thread serving requests keeps its own", async () => {
    const before = threadNiceValues();
    const hashes = await Promise.all(Array.from({ length: 4 }, (_, i) => hashPassword(`parallel ${i}`)));
    expect(await Promise.all(hashes.map((h, i) => verifyPassword(h, `parallel ${i}`)))).toEqual([true, true, true, true]);
    const after = threadNiceValues();
    expect(after.get(process.pid)).toBe(before.get(process.pid) ?? 0);
    expect([...after.values()].filter((nice) => nice === 10).length).toBeGreaterThanOrEqual(1);
  });

  it("a worker that dies mid-job: that job and later ones hash in-process, still at most `size` at once", async () => {
    const pool = new HashPool(2, 5);
    const slow = { op: "hash" as const, password: "x", options: { algorithm: 2, memoryCost: 19_456, timeCost: 50, parallelism: 1 } };
    const job = pool.run(slow, async () => "hashed in-process");
    await new Promise((r) => setTimeout(r, 50));
    await pool.close();
    expect(await job).toBe("hashed in-process");

    let running = 0;
    let most = 0;
    const inProcess = async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return "in-process";
    };
    const answers = await Promise.all(Array.from({ length: 8 }, () => pool.run(slow, inProcess)));
    expect(answers).toEqual(Array(8).fill("in-process"));
    expect(most).toBe(2);
  });
});
