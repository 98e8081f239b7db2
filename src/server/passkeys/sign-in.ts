import { recordLoginEvent } from "~/server/auth/login-events";
import { startSession } from "~/server/auth/start-session";
import type { AuthDeps, ClientInfo, SignedIn } from "~/server/auth/types";
import { clientBlockOf } from "~/server/platform/client-ip";
import { AuthError, isErrorNamed } from "~/server/platform/errors";
import type { AuthenticationResponseInput } from "./inputs";
import { assertionOptions, consumeChallenge, findPasskey, reportClone, verifyAssertion, type PasskeyClonedError, type PasskeyDeps } from "./passkeys";

// Sign-in with a passkey (auth.passkeyOptions -> auth.loginWithPasskey). Discoverable credentials:
// the options name no account, the authenticator picks the passkey and says whose it is. The
// challenge is bound to the browser that asked, by its device cookie (httpOnly, signed by the
// server, minted by passkeyOptions when the browser had none). A verified, user-verified assertion
// is possession plus a PIN or biometric: the session opens through the same path as a password
// sign-in (startSession: session cap, device trust, suspicious sign-in checks, history, events),
// without new-device approval and counted as a fresh authentication.

export type PasskeySignInDeps = PasskeyDeps & AuthDeps;

/** Failed passkey sign-ins are counted per IP, an IPv6 client by its /64 (no account is known before the assertion verifies). */
const throttleKeyOf = (ip: string) => `passkey:ip:${clientBlockOf(ip)}`;

export async function passkeySignInOptions(deps: PasskeySignInDeps, client: ClientInfo) {
  return assertionOptions(deps, "sign_in", client.deviceCookie);
}

export async function loginWithPasskey(deps: PasskeySignInDeps, response: AuthenticationResponseInput, client: ClientInfo): Promise<SignedIn> {
  // The challenge first: an answer to no challenge of this browser costs nothing and is not
  // counted, so garbage cannot throttle a network's genuine passkey sign-ins.
  const challenge = await consumeChallenge(deps, "sign_in", client.deviceCookie, response);
  const throttleKey = throttleKeyOf(client.ip);
  const attempt = await deps.throttle.beginAttempt(throttleKey);
  if (!attempt.allowed) {
    const retryAfter = Math.max(1, Math.ceil(attempt.retryAfterMs / 1000));
    throw new AuthError("TOO_MANY_REQUESTS", `Too many failed passkey sign-ins from your network. Try again in ${retryAfter} s.`, {
      reason: "too_many_failures",
      retryAfterSeconds: retryAfter,
    });
  }
  let right = false;
  let user;
  try {
    const passkey = await findPasskey(deps, response.id);
    const owner = passkey && (await deps.db.user.findUnique({ where: { id: passkey.userId }, select: { id: true, email: true, emailVerifiedAt: true } }));
    // The user handle, when sent, must name the passkey's own account.
    const handle = response.response.userHandle;
    if (!passkey || !owner || (handle !== undefined && Buffer.from(handle, "base64url").toString("utf8") !== owner.id)) {
      throw new AuthError("UNAUTHORIZED", "This passkey is not registered here.", { reason: "passkey_invalid" });
    }
    try {
      await verifyAssertion(deps, passkey, response, challenge);
    } catch (error) {
      const failure = { userId: owner.id, email: owner.email, client, method: "passkey" as const };
      if (isErrorNamed<PasskeyClonedError>(error, "PasskeyClonedError")) {
        await recordLoginEvent(deps.db, { ...failure, outcome: "blocked", reason: "passkey_cloned" });
        throw await reportClone(deps, owner, error, { ip: client.ip });
      }
      await recordLoginEvent(deps.db, { ...failure, outcome: "failure", reason: "passkey_invalid" });
      throw new AuthError("UNAUTHORIZED", "This passkey could not be verified.", { reason: "passkey_invalid" });
    }
    right = true;
    user = { id: owner.id, email: owner.email, emailVerified: owner.emailVerifiedAt !== null, passkeyId: passkey.id };
  } finally {
    await deps.throttle.finishAttempt(throttleKey, attempt.id, right);
  }
  // As for a password (auth/sign-in.ts): the epoch first, then the passkey again. An
  // emergency lockout removes the passkeys and then moves the epoch on, so a sign-in whose passkey
  // it removed either sees it gone here or is refused by the session store for the old epoch.
  const epoch = await deps.sessions.currentEpoch(user.id);
  if ((await deps.db.passkey.count({ where: { id: user.passkeyId } })) === 0) {
    throw new AuthError("UNAUTHORIZED", "This passkey is not registered here.", { reason: "passkey_invalid" });
  }
  return startSession(deps, { id: user.id, email: user.email, emailVerified: user.emailVerified }, client, "passkey", { epoch, freshAuthentication: true });
}
