import type { Redis } from "@upstash/redis";
import { randomToken, sha256 } from "~/server/platform/crypto";
import { braced } from "~/server/platform/redis/keys";

// WebAuthn challenges (ASVS 5 V6.5, NIST 800-63B: replay resistance). Each is random (32 bytes),
// answered at most once (GETDEL), within PASSKEY_CHALLENGE_TTL_MS, and only by whoever it was issued
// to: the Redis key is a hash of the purpose, the binding (a signed-in session's id, or the signed
// httpOnly device cookie of the browser that asked for sign-in options) and the challenge. A
// challenge answered from another browser or session, for another purpose, a second time or too
// late finds no key. Only the hash is stored, so a Redis dump holds no usable challenge.

export type ChallengePurpose = "register" | "sign_in" | "reauth";

export class PasskeyChallengeStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private key(purpose: ChallengePurpose, binding: string, challenge: string) {
    // One key, never in a script with another: braced so it is a slot of its own on a cluster.
    return braced(this.prefix, "passkey:challenge", sha256(`${purpose}\n${binding}\n${challenge}`));
  }

  /** A new challenge (base64url) for `purpose`, answerable once by `binding` until it expires. */
  async issue(purpose: ChallengePurpose, binding: string): Promise<{ challenge: string; expiresAt: Date }> {
    const challenge = randomToken(32);
    const expiresAt = this.now() + this.ttlMs;
    // The expiry is stored too: Redis forgets the key on its own clock, the check below uses ours.
    await this.redis.set(this.key(purpose, binding, challenge), String(expiresAt), { px: this.ttlMs });
    return { challenge, expiresAt: new Date(expiresAt) };
  }

  /** True once for a challenge issued to `binding` for `purpose` and not expired; it is gone afterwards either way. */
  async consume(purpose: ChallengePurpose, binding: string, challenge: string): Promise<boolean> {
    if (challenge.length === 0 || challenge.length > 256) return false;
    const expiresAt = await this.redis.getdel<string | number>(this.key(purpose, binding, challenge));
    return expiresAt !== null && Number(expiresAt) > this.now();
  }
}
