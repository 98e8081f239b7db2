import { parseEnv } from "~/env";
import { policyFrom } from "~/server/policy";
import { AccessTokenSigner } from "~/server/tokens/jwt";

/**
 * Every problem with the configuration, checked when the server starts rather than on the first
 * request: a server that stays up with a bad configuration answers 500 to everything.
 */
export function configurationProblems(source: Record<string, string | undefined> = process.env): string[] {
  let env;
  try {
    env = parseEnv(source);
  } catch (error) {
    const message = String(error instanceof Error ? error.message : error);
    const listed = message
      .split("\n")
      .filter((line) => line.startsWith("  - "))
      .map((line) => line.slice(4));
    // Anything else that went wrong reading the configuration (e.g. the data folder for the
    // development secret is not writable) is a problem too, never "no problems".
    return listed.length > 0 ? listed : [message];
  }
  try {
    const origin = new URL(env.APP_URL).origin;
    new AccessTokenSigner({
      signingKey: env.JWT_SIGNING_KEY,
      previousKeys: env.JWT_PREVIOUS_KEYS,
      sessionSecret: env.SESSION_SECRET,
      issuer: origin,
      audience: `${origin}/api`,
      accessTokenTtlMs: policyFrom(env).accessTokenTtlMs,
    });
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
  return [];
}

/** Prints every problem and ends the process with status 1 when the configuration is not usable. */
export function exitOnBadConfiguration(): void {
  const problems = configurationProblems();
  if (problems.length === 0) return;
  console.error(`Handoff cannot start: the configuration is not valid.\n${problems.map((p) => `  - ${p}`).join("\n")}\nSee .env.example for every variable.`);
  process.exit(1);
}
