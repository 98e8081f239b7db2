import fs from "node:fs";
import path from "node:path";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import { describe, expect, it } from "vitest";
import { documentedReasons } from "~/test/error-reasons";
import { AuthError, ERROR_REASONS, isAuthError, isErrorReason } from "./errors";

const readme = fs.readFileSync(path.join(import.meta.dirname, "../../../README.md"), "utf8");

describe("the error reason catalogue", () => {
  it("the README's Error reasons table lists exactly the keys of ERROR_REASONS, each once, in the same order", () => {
    const rows = documentedReasons(readme);
    expect(rows.map((row) => row.reason)).toEqual(Object.keys(ERROR_REASONS));
  });

  it("every row names at least one real tRPC code and says what the reason means", () => {
    for (const row of documentedReasons(readme)) {
      expect(row.codes.length, row.reason).toBeGreaterThan(0);
      for (const code of row.codes) expect(Object.keys(TRPC_ERROR_CODES_BY_KEY), `${row.reason}: ${code}`).toContain(code);
      expect(row.meaning.length, row.reason).toBeGreaterThan(10);
    }
  });

  it("isErrorReason accepts catalogued reasons only (not inherited keys)", () => {
    expect(isErrorReason("wrong_code")).toBe(true);
    expect(isErrorReason("toString")).toBe(false);
    expect(isErrorReason("__proto__")).toBe(false);
    expect(isErrorReason(undefined)).toBe(false);
  });

  it("an AuthError carries its reason and wait, and is recognised without instanceof", () => {
    const error = new AuthError("TOO_MANY_REQUESTS", "Wait.", { reason: "rate_limited", retryAfterSeconds: 3 });
    expect({ code: error.code, reason: error.reason, retryAfterSeconds: error.retryAfterSeconds }).toEqual({
      code: "TOO_MANY_REQUESTS",
      reason: "rate_limited",
      retryAfterSeconds: 3,
    });
    // What another bundle's copy of the class looks like: the brand, no shared prototype.
    expect(isAuthError({ ...error, [Symbol.for("handoff.AuthError")]: true })).toBe(true);
    expect(isAuthError(new Error("Wait."))).toBe(false);
  });
});
