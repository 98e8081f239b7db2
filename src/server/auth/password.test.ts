import { describe, expect, it, vi } from "vitest";

const calls = vi.hoisted(() => ({ verify: 0 }));
vi.mock("@node-rs/argon2", async (importOriginal) => {
  const real = await importOriginal<typeof import("@node-rs/argon2")>();
  return {
    ...real,
    verify: (...args: Parameters<typeof real.verify>) => {
      calls.verify++;
      return real.verify(...args);
    },
  };
});

const { hashPassword, verifyPassword } = await import("./password");

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
    calls.verify = 0;
    expect(await verifyPassword(stored, "wrong")).toBe(false);
    expect(calls.verify).toBe(1);
    calls.verify = 0;
    expect(await verifyPassword(null, "wrong")).toBe(false);
    expect(calls.verify).toBe(1);
  });

  it("handles long and non-ASCII passwords", async () => {
    const long = "ü🔑".repeat(128);
    const hash = await hashPassword(long);
    expect(await verifyPassword(hash, long)).toBe(true);
  });
});
