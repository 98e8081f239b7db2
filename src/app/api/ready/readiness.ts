import fs from "node:fs";
import path from "node:path";

/** How long each check may take before it counts as failed (a load balancer's probe gives up soon too). */
const READY_CHECK_TIMEOUT_MS = 2_000;

type CheckName = "postgres" | "redis" | "migrations";

export interface Readiness {
  ok: boolean;
  /** The checks that failed, e.g. ["redis"]; empty when ready. */
  failed: Array<CheckName | "shutting_down">;
  checks: {
    postgres: { ok: boolean; error?: string };
    redis: { ok: boolean; error?: string };
    /** Shipped (prisma/migrations) and not applied; `unknown` when PostgreSQL could not be asked. */
    migrations: { ok: boolean; pending?: string[]; error?: string };
  };
}

export interface ReadinessDeps {
  /** Runs a query on PostgreSQL (the app's Prisma client). */
  query(sql: string): Promise<Array<Record<string, unknown>>>;
  /** Pings Redis; resolves to its reply. */
  ping(): Promise<unknown>;
  /** Names of the migrations this copy of the app ships. */
  shipped: string[];
  shuttingDown?: boolean;
  timeoutMs?: number;
}

/** The migration folders next to the running app (cwd: the project, or the artefact's folder that server.js changes to). */
export function shippedMigrationNames(dir = path.resolve("prisma", "migrations")): string[] {
  // Not traced into the build: the artefact's builder copies prisma/migrations (scripts/build-artefact.mjs).
  return fs
    .readdirSync(/*turbopackIgnore: true*/ dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(/*turbopackIgnore: true*/ path.join(dir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort();
}

class CheckTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "CheckTimeout";
  }
}

async function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckTimeout(ms)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// What the answer says about a failure: short and without addresses (the probe may be public);
// the full error goes to the server's log.
const summary = (error: unknown) => (error instanceof CheckTimeout ? error.message : "unreachable");

const isMissingTable = (error: unknown) =>
  /_prisma_migrations|42P01|does not exist/i.test(error instanceof Error ? `${error.message} ${String((error as { code?: unknown }).code)}` : String(error));

/**
 * Ready = PostgreSQL answers, Redis answers, and every shipped migration is applied (a new
 * version started before `npm run db:migrate` is not ready). Checks run at once, each bounded.
 */
export async function checkReadiness(deps: ReadinessDeps, log: (message: string) => void = console.error): Promise<Readiness> {
  const ms = deps.timeoutMs ?? READY_CHECK_TIMEOUT_MS;
  const checks: Readiness["checks"] = { postgres: { ok: false }, redis: { ok: false }, migrations: { ok: false } };
  await Promise.all([
    (async () => {
      try {
        await within(ms, () => deps.query("SELECT 1"));
        checks.postgres = { ok: true };
      } catch (error) {
        log(`[ready] postgres: ${error instanceof Error ? error.message : String(error)}`);
        checks.postgres = { ok: false, error: summary(error) };
        checks.migrations = { ok: false, error: "unknown: PostgreSQL did not answer" };
        return;
      }
      try {
        const rows = await within(ms, () =>
          deps.query(`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`),
        );
        const applied = new Set(rows.map((row) => String(row.migration_name)));
        const pending = deps.shipped.filter((name) => !applied.has(name));
        checks.migrations = pending.length === 0 ? { ok: true } : { ok: false, pending };
      } catch (error) {
        if (isMissingTable(error)) {
          checks.migrations = { ok: false, pending: deps.shipped };
        } else {
          log(`[ready] migrations: ${error instanceof Error ? error.message : String(error)}`);
          checks.migrations = { ok: false, error: summary(error) };
        }
      }
    })(),
    (async () => {
      try {
        const reply = await within(ms, () => deps.ping());
        checks.redis = reply === "PONG" ? { ok: true } : { ok: false, error: `unexpected reply ${JSON.stringify(reply)}` };
      } catch (error) {
        log(`[ready] redis: ${error instanceof Error ? error.message : String(error)}`);
        checks.redis = { ok: false, error: summary(error) };
      }
    })(),
  ]);
  const failed: Readiness["failed"] = (["postgres", "redis", "migrations"] as const).filter((name) => !checks[name].ok);
  if (deps.shuttingDown) failed.unshift("shutting_down");
  return { ok: failed.length === 0, failed, checks };
}
