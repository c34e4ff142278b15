/**
 * The little the store needs from a SQL database. Statements use `$1, $2, …`
 * placeholders (PostgreSQL's); the SQLite driver rewrites them. Both stores
 * share one set of statements, so they cannot drift apart.
 */
export interface SqlDriver {
  readonly dialect: 'sqlite' | 'postgres';
  /** Rows of a statement (`RETURNING` included). */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Runs `fn` in a transaction that holds the database's migration lock, so
   * that several control planes starting at once apply each migration once.
   */
  withMigrationLock<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
