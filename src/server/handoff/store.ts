import type { Redis } from "@upstash/redis";
import { GONE, mapOutcome, ShortLivedRecords, type Outcome, type ShortLivedRecord } from "~/server/platform/short-lived-records";
import { randomToken, sha256, splitToken } from "~/server/platform/crypto";

// QR handoff requests in Redis. A request moves a session to another device; two kinds:
//   "signin": a new device shows the QR; a signed-in phone scans it, inspects and approves.
//   "offer":  a signed-in device shows the QR; another device scans it (claims) and, once the
//             offering device approves, gets its own session.
// Roles: the *owner* is the signed-in user who grants the session; the *recipient* is the browser
// that receives it and alone holds the secret needed to collect it (a cookie), so the QR alone
// never yields a session. Only hashes of the QR secret and the browser secret are stored.
//
// status: pending -> scanned -> approved -> completed, or denied / cancelled; the key expires
// HANDOFF_TTL_SECONDS after creation, whatever its state. Every transition is one atomic script
// (platform/short-lived-records.ts); every method answers with its outcome union.

export type HandoffKind = "signin" | "offer";
export type HandoffStatus = "pending" | "scanned" | "approved" | "denied" | "completed" | "cancelled" | "expired";

export interface Party {
  ip: string;
  userAgent: string;
}

export interface HandoffRecord {
  id: string;
  kind: HandoffKind;
  status: HandoffStatus;
  createdAt: Date;
  expiresAt: Date;
  ownerUserId: string | null;
  ownerSessionId: string | null;
  owner: Party | null;
  recipient: Party | null;
}

const FIELDS = ["kind", "ownerUserId", "ownerSessionId", "ownerIp", "ownerUa", "recipientIp", "recipientUa"] as const;
type Field = (typeof FIELDS)[number];

/** Not finished: what a lockout cancels. */
const OPEN: HandoffStatus[] = ["pending", "scanned", "approved"];

function toRecord(r: ShortLivedRecord<HandoffStatus, Field>): HandoffRecord {
  const v = r.fields;
  return {
    id: r.id,
    kind: v.kind as HandoffKind,
    status: r.status,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    ownerUserId: v.ownerUserId || null,
    ownerSessionId: v.ownerSessionId || null,
    owner: v.ownerIp ? { ip: v.ownerIp, userAgent: v.ownerUa } : null,
    recipient: v.recipientIp ? { ip: v.recipientIp, userAgent: v.recipientUa } : null,
  };
}

export type HandoffOutcome = Outcome<HandoffRecord>;

export class HandoffStore {
  private readonly records: ShortLivedRecords<HandoffStatus, Field>;

  constructor(redis: Redis, prefix: string, ttlMs: number, now: () => number = Date.now) {
    this.records = new ShortLivedRecords(redis, { prefix, kind: "handoff", index: "handoffs", fields: FIELDS, ttlMs, now });
  }

  /**
   * Creates a request. Returns the QR token (id.secret: shown once, only its hash is kept) and,
   * for the side that will receive the session, the browser secret to keep in a cookie.
   */
  async create(
    kind: HandoffKind,
    party: Party & { userId?: string; sessionId?: string },
  ): Promise<{ id: string; token: string; browserSecret: string | null; expiresAt: Date }> {
    const secret = randomToken(32);
    const fields: Record<string, string> = { kind, tokenHash: sha256(secret) };
    let browserSecret: string | null = null;
    if (kind === "signin") {
      browserSecret = randomToken(32);
      Object.assign(fields, { recipientSecretHash: sha256(browserSecret), recipientIp: party.ip, recipientUa: party.userAgent });
    } else {
      Object.assign(fields, { ownerUserId: party.userId!, ownerSessionId: party.sessionId!, ownerIp: party.ip, ownerUa: party.userAgent });
    }
    const created = await this.records.create({ status: "pending", fields, indexFor: kind === "offer" ? party.userId! : undefined });
    return { id: created.id, token: `${created.id}.${secret}`, browserSecret, expiresAt: created.expiresAt };
  }

  /** Flow A: the signed-in phone that scanned the QR becomes its owner (first scanner only; the same one again is idempotent). */
  async bindOwner(token: string, kind: HandoffKind, owner: Party & { userId: string; sessionId: string }): Promise<HandoffOutcome> {
    const t = splitToken(token);
    if (!t) return GONE;
    const outcome = await this.records.bind(t.id, {
      require: { tokenHash: sha256(t.secret), kind },
      field: "ownerUserId",
      value: owner.userId,
      from: "pending",
      to: "scanned",
      set: { ownerSessionId: owner.sessionId, ownerIp: owner.ip, ownerUa: owner.userAgent },
      // Lockout finds the requests a user owns through this index.
      indexFor: owner.userId,
    });
    return mapOutcome(outcome, toRecord);
  }

  /**
   * Flow B: the browser that scanned an offer claims it with its secret (from its cookie, or a new
   * one). One claimant only; the same browser claiming again (a reload) is idempotent.
   */
  async bindRecipient(token: string, recipient: Party, browserSecret: string): Promise<HandoffOutcome> {
    const t = splitToken(token);
    if (!t) return GONE;
    const outcome = await this.records.bind(t.id, {
      require: { tokenHash: sha256(t.secret), kind: "offer" },
      field: "recipientSecretHash",
      value: sha256(browserSecret),
      from: "pending",
      to: "scanned",
      set: { recipientIp: recipient.ip, recipientUa: recipient.userAgent },
    });
    return mapOutcome(outcome, toRecord);
  }

  /** The owner decides: approve once scanned; deny while pending or scanned. The deciding session is the one the recipient's session is created from. */
  async decide(token: string, owner: { userId: string; sessionId: string }, decision: "approved" | "denied"): Promise<HandoffOutcome> {
    const t = splitToken(token);
    if (!t) return GONE;
    const outcome = await this.records.transition(t.id, {
      require: { tokenHash: sha256(t.secret), ownerUserId: owner.userId },
      rules: [{ from: decision === "approved" ? ["scanned"] : ["pending", "scanned"] }],
      set: { status: decision, ownerSessionId: owner.sessionId },
    });
    return mapOutcome(outcome, toRecord);
  }

  /** The recipient collects: exactly one caller ever gets the record back, and only once approved (`wrong_state` before). */
  async complete(id: string, browserSecret: string): Promise<HandoffOutcome> {
    return mapOutcome(await this.records.take(id, { require: { recipientSecretHash: sha256(browserSecret) }, from: "approved", to: "completed" }), toRecord);
  }

  /** The current state, for the recipient (by browser secret) or the owner (by user id); `forbidden` for anyone else. */
  async watch(id: string, viewer: { browserSecret?: string | null; userId?: string | null }): Promise<HandoffOutcome> {
    const outcome = await this.records.read(id, [
      { recipientSecretHash: viewer.browserSecret ? sha256(viewer.browserSecret) : "" },
      { ownerUserId: viewer.userId ?? "" },
    ]);
    return mapOutcome(outcome, toRecord);
  }

  /** Emergency lockout: every request the user owns that is not finished is cancelled. */
  cancelForUser(userId: string): Promise<string[]> {
    return this.records.updateAllFor(userId, { from: OPEN, set: { status: "cancelled" } });
  }
}
