import { AuthError } from "~/server/platform/errors";
import { hashPassword } from "~/server/platform/password";
import { startSession } from "~/server/auth/start-session";
import type { AuthDeps, ClientInfo, SignedIn } from "~/server/auth/types";

export async function register(deps: AuthDeps, input: { email: string; password: string }, client: ClientInfo): Promise<SignedIn> {
  const passwordHash = await hashPassword(input.password);
  let user: { id: string; email: string };
  try {
    user = await deps.db.user.create({ data: { email: input.email, passwordHash }, select: { id: true, email: true } });
  } catch (error) {
    // By code, not class: the client may have been built by another server bundle.
    if ((error as { code?: unknown } | null)?.code === "P2002") {
      throw new AuthError("CONFLICT", "An account with this email already exists. Sign in instead.", { reason: "email_taken" });
    }
    throw error;
  }
  // A new account has no devices yet: no need to look the browser up.
  return startSession(deps, { ...user, emailVerified: false }, client, "password", { knownDevice: false });
}
