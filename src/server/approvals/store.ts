import { randomInt } from "node:crypto";
import type { Redis } from "@upstash/redis";
import { APPROVAL_CODE_ATTEMPTS } from "~/server/policy";
import { mapOutcome, ShortLivedRecords, type Outcome, type ShortLivedRecord } from "~/server/platform/short-lived-records";
import { randomToken, sha256 } from "~/server/platform/crypto";

// New-device approval requests in Redis. A correct password from an unknown device, while the
// user is signed in elsewhere, creates one instead of a session: the new device shows a 6-digit
// code that one of the user's signed-in devices must type (number matching). Stored: the code's
// hash, the attempt counter, the hash of the requesting browser's secret (a cookie), and who asks.
// status: pending -> approved -> completed, or denied / failed (5 wrong codes) / cancelled.
// Every check-and-change is one atomic script (platform/short-lived-records.ts); the key expires
// APPROVAL_TTL_SECONDS after creation. Every method answers with its outcome union.

export type ApprovalStatus = "pending" | "approved" | "denied" | "failed" | "completed" | "cancelled" | "expired";

export interface ApprovalRequest {
  id: string;
  userId: string;
  status: ApprovalStatus;
  attempts: number;
  ip: string;
  userAgent: string;
  /** The name a token client gave itself; "" for a browser (named after its user agent). */
  deviceName: string;
  /** The session that typed the right code; the new session is created only while it exists. */
  approvedBy: string;
  createdAt: Date;
  expiresAt: Date;
}

const FIELDS = ["userId", "ip", "userAgent", "deviceName", "approvedBy"] as const;
type Field = (typeof FIELDS)[number];

/** Not finished: what a lockout (or forgetting the device) cancels. */
const OPEN: ApprovalStatus[] = ["pending", "approved"];

function toRequest(r: ShortLivedRecord<ApprovalStatus, Field>): ApprovalRequest {
  return { id: r.id, status: r.status, attempts: r.attempts, createdAt: r.createdAt, expiresAt: r.expiresAt, ...r.fields };
}

/** Six digits from the CSPRNG, uniformly. */
function randomCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, "0");
}

const codeHash = (id: string, code: string) => sha256(`${id}:${code}`);

export type ApprovalOutcome = Outcome<ApprovalRequest>;

export class ApprovalStore {
  private readonly records: ShortLivedRecords<ApprovalStatus, Field>;

  constructor(redis: Redis, prefix: string, ttlMs: number, now: () => number = Date.now) {
    this.records = new ShortLivedRecords(redis, { prefix, kind: "approval", index: "approvals", fields: FIELDS, ttlMs, now });
  }

  /** Returns the code to show (once) and the browser secret for the requesting browser's cookie. */
  async create(input: { userId: string; ip: string; userAgent: string; deviceCookieHash: string; deviceName?: string }) {
    const id = ShortLivedRecords.newId(input.userId);
    const code = randomCode();
    const browserSecret = randomToken(32);
    const created = await this.records.create({
      id,
      status: "pending",
      fields: {
        userId: input.userId,
        attempts: "0",
        codeHash: codeHash(id, code),
        secretHash: sha256(browserSecret),
        deviceCookieHash: input.deviceCookieHash,
        ip: input.ip,
        userAgent: input.userAgent,
        deviceName: input.deviceName ?? "",
      },
      indexFor: input.userId,
    });
    return { id, code, browserSecret, expiresAt: created.expiresAt };
  }

  /**
   * The user's device types the code: `ok` (approved), `wrong_code` (counted), `attempts_exhausted`
   * (the APPROVAL_CODE_ATTEMPTS-th wrong code: failed), or not theirs / not pending / gone.
   * `sessionId`: the approving session, which the new device's session will depend on.
   */
  async confirm(id: string, userId: string, code: string, sessionId = ""): Promise<ApprovalOutcome> {
    const outcome = await this.records.transition(id, {
      require: { userId },
      rules: [{ from: ["pending"] }],
      guess: { field: "codeHash", value: codeHash(id, code), maxAttempts: APPROVAL_CODE_ATTEMPTS, exhausted: { status: "failed" } },
      set: { status: "approved", approvedBy: sessionId },
    });
    return mapOutcome(outcome, toRequest);
  }

  async deny(id: string, userId: string): Promise<ApprovalOutcome> {
    return mapOutcome(await this.records.transition(id, { require: { userId }, rules: [{ from: ["pending"] }], set: { status: "denied" } }), toRequest);
  }

  /** The new device collects: exactly one caller with its browser secret, once approved (`wrong_state` before). */
  async complete(id: string, browserSecret: string): Promise<ApprovalOutcome> {
    return mapOutcome(await this.records.take(id, { require: { secretHash: sha256(browserSecret) }, from: "approved", to: "completed" }), toRequest);
  }

  /** The request, for the requesting browser (by its secret) or the user's own pages; `forbidden` for anyone else. */
  async watch(id: string, viewer: { browserSecret?: string | null; userId?: string | null }): Promise<ApprovalOutcome> {
    const outcome = await this.records.read(id, [{ secretHash: viewer.browserSecret ? sha256(viewer.browserSecret) : "" }, { userId: viewer.userId ?? "" }]);
    return mapOutcome(outcome, toRequest);
  }

  /** The user's requests that still exist, in any state, newest first. */
  async listForUser(userId: string): Promise<ApprovalRequest[]> {
    return (await this.records.listFor(userId)).map(toRequest).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  /** Cancels the user's open requests: all of them, or those from one browser (by device cookie hash). */
  cancelForUser(userId: string, deviceCookieHash = ""): Promise<string[]> {
    return this.records.updateAllFor(userId, { from: OPEN, where: deviceCookieHash ? { deviceCookieHash } : undefined, set: { status: "cancelled" } });
  }
}
