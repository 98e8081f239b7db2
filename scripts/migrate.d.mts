// Types of scripts/migrate.mjs (plain JavaScript so that it runs from the release artefact with no build step).
export interface MigrationDatabase {
  describe: string;
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  exec(sql: string): Promise<void>;
  lock(): Promise<void>;
  unlock(): Promise<void>;
  close(): Promise<void>;
}
export interface ShippedMigration {
  name: string;
  sql: string;
  checksum: string;
}
export function shippedMigrations(dir: string): ShippedMigration[];
export function defaultMigrationsDir(): string;
export function openDatabase(env?: Record<string, string | undefined>): Promise<MigrationDatabase>;
export function appliedMigrations(db: MigrationDatabase): Promise<{ applied: Map<string, string>; failed: string[] }>;
export function migrate(options: { db: MigrationDatabase; dir?: string; log?: (message: string) => void }): Promise<string[]>;
