import type { SqlDriver } from './sql-driver.js';

/**
 * Versioned schema changes, applied in order at start. The SQL is the common
 * subset of SQLite and PostgreSQL: TEXT timestamps (ISO 8601, UTC), INTEGER
 * 0/1 booleans, JSON arrays in TEXT. A migration is never edited once
 * released; a change is a new entry.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; statements: readonly string[] }> = [
  {
    version: 1,
    name: 'initial',
    statements: [
      `CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
      `CREATE TABLE credentials (
        client_id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        owner TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        revoked_at TEXT
      )`,
      `CREATE TABLE workspaces (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        image TEXT NOT NULL,
        cpus INTEGER NOT NULL,
        memory_mb INTEGER NOT NULL,
        disk_mb INTEGER NOT NULL,
        status TEXT NOT NULL,
        ip TEXT,
        port INTEGER,
        access_enabled INTEGER NOT NULL DEFAULT 0,
        raw_token TEXT,
        generation INTEGER NOT NULL DEFAULT 1,
        token_expires_at TEXT,
        public_access INTEGER NOT NULL DEFAULT 0,
        allow_internet INTEGER NOT NULL DEFAULT 1,
        private_link_ids TEXT NOT NULL DEFAULT '[]',
        ingress_ports TEXT NOT NULL DEFAULT '[]',
        egress TEXT NOT NULL DEFAULT '[]',
        idempotency_key TEXT,
        last_ping_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      `CREATE UNIQUE INDEX workspaces_idempotency ON workspaces (owner, idempotency_key)`,
      `CREATE INDEX workspaces_owner_created ON workspaces (owner, created_at)`,
    ],
  },
  {
    version: 2,
    name: 'public_ports',
    statements: [
      // A workspace's ports exposed at public URLs. Rows go with their workspace (deleteWorkspace removes
      // both); `generation` comes from a store-wide counter, so a slug revoked and exposed again never
      // carries a generation the gateway saw before.
      `CREATE TABLE public_ports (
        workspace_id TEXT NOT NULL,
        port INTEGER NOT NULL,
        slug TEXT NOT NULL,
        label TEXT,
        auth TEXT NOT NULL,
        token_hash TEXT,
        generation INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (workspace_id, port)
      )`,
      `CREATE UNIQUE INDEX public_ports_slug ON public_ports (slug)`,
    ],
  },
  {
    version: 3,
    name: 'workspace_lifecycle',
    statements: [
      // One row per workspace with a lifecycle other than the default (permanent, no TTL, no idle policy, never
      // restarted). Deadlines are derived from the stored times (expires_at, last_activity_at, suspended_at),
      // so a restarted control plane re-arms them and does at once what fell due while it was down. Events are
      // a short JSON list (the latest few), shown by GET /workspace/:id/lifecycle.
      `CREATE TABLE workspace_lifecycle (
        workspace_id TEXT PRIMARY KEY,
        mode TEXT NOT NULL DEFAULT 'permanent',
        ttl_seconds INTEGER,
        ttl_action TEXT NOT NULL DEFAULT 'stop',
        expires_at TEXT,
        remove_on_exit INTEGER NOT NULL DEFAULT 0,
        idle_suspend_after INTEGER,
        idle_stop_after INTEGER,
        restart_policy TEXT NOT NULL DEFAULT 'never',
        max_restarts INTEGER NOT NULL DEFAULT 0,
        restart_count INTEGER NOT NULL DEFAULT 0,
        last_restart_at TEXT,
        last_activity_at TEXT,
        suspended_at TEXT,
        stopped_by TEXT,
        wake_on_traffic INTEGER NOT NULL DEFAULT 0,
        started_at TEXT,
        events TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
    ],
  },
  {
    version: 4,
    name: 'workspace_metadata',
    statements: [
      // A workspace's metadata (string keys and values) as one JSON object per workspace, bounded (see
      // METADATA_LIMITS). `version` makes every change a compare-and-set, so a merge (PATCH) from several
      // control planes on one database never loses another's keys. Rows go with their workspace.
      `CREATE TABLE workspace_metadata (
        workspace_id TEXT PRIMARY KEY,
        entries TEXT NOT NULL DEFAULT '{}',
        version INTEGER NOT NULL,
        updated_at TEXT NOT NULL
      )`,
    ],
  },
];

/** Applies the migrations not yet recorded; safe to run at every start and from several instances at once. */
export async function migrate(db: SqlDriver): Promise<number[]> {
  return db.withMigrationLock(async (tx) => {
    await tx.run(
      `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
    );
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        new Date().toISOString(),
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}
