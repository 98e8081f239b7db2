import { parseEnv } from "~/env";
import { policyFrom } from "~/server/policy";
import { AccessTokenSigner } from "~/server/tokens/jwt";

/**
 * Every problem with the configuration, checked when the server starts rather than on the first
 * request: a server that stays up with a bad configuration answers 500 to everything.
 */
export function configurationProblems(source: Record<string, string | undefined> = process.env): string[] {
  const embedded = embeddedProblems(source);
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
    return [...(listed.length > 0 ? listed : [message]), ...embedded];
  }
  if (embedded.length > 0) return embedded;
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

/**
 * No silent demo mode: in production, the embedded PGlite database (no DATABASE_URL) and the
 * in-memory Redis (neither REDIS_URL, REDIS_CLUSTER_NODES nor Upstash) are refused unless ALLOW_EMBEDDED=true says so.
 * In-memory sessions vanish on every restart and are not shared by a second instance; PGlite is
 * one process's files. `npm run dev` (NODE_ENV=development) keeps both by default.
 */
function embeddedProblems(source: Record<string, string | undefined>): string[] {
  // Read from the raw variables (empty = not set, as in parseEnv), so these are listed together
  // with any other problem rather than after it is fixed.
  const env = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  if (env.NODE_ENV !== "production" || env.ALLOW_EMBEDDED === "true" || env.ALLOW_EMBEDDED === "1") return [];
  const problems: string[] = [];
  if (!env.DATABASE_URL) {
    problems.push(
      "DATABASE_URL is not set, so the embedded PGlite database would be used: set DATABASE_URL=postgresql://user:password@host:5432/handoff " +
        "(or ALLOW_EMBEDDED=true to run the embedded demo database in production anyway)",
    );
  }
  if (!env.REDIS_URL && !env.UPSTASH_REDIS_REST_URL && !env.REDIS_CLUSTER_NODES) {
    problems.push(
      "No Redis is configured, so sessions would live in memory inside this process (lost on restart, not shared between instances): " +
        "set REDIS_URL=redis://host:6379/0 (or REDIS_CLUSTER_NODES=host:port,..., or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN; or ALLOW_EMBEDDED=true to run the in-memory demo anyway)",
    );
  }
  return problems;
}

/** Prints every problem and ends the process with status 1 when the configuration is not usable. */
export function exitOnBadConfiguration(): void {
  const problems = configurationProblems();
  if (problems.length === 0) return;
  console.error(`Handoff cannot start: the configuration is not valid.\n${problems.map((p) => `  - ${p}`).join("\n")}\nSee .env.example for every variable.`);
  process.exit(1);
}
