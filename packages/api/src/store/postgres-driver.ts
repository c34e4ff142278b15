import pg from 'pg';
import type { SqlDriver } from './sql-driver.js';
import { storeFault } from './store-faults.js';

/** Arbitrary but fixed key of the advisory lock that serialises migrations across instances. */
const MIGRATION_LOCK_KEY = 7_310_042;

/**
 * How long a statement may wait for its answer. A database that stops answering on an open connection (a dropped
 * network, a frozen host) sends no reset: without this, the request would wait as long as TCP keeps the connection.
 * Cove's statements are single-row reads and writes; the pool destroys a connection whose statement timed out.
 */
const STATEMENT_TIMEOUT_MS = 5000;

/** PostgreSQL through a `pg` pool: what several control planes and gateways share. */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres';
  readonly #pool: pg.Pool;

  constructor(connectionString: string, options: { max?: number } = {}) {
    // A database that does not answer fails a request in 5 s (503 store_unavailable) instead of holding it forever;
    // keep-alive notices a connection whose peer vanished without a reset.
    this.#pool = new pg.Pool({ connectionString, max: options.max ?? 10, connectionTimeoutMillis: 5000, keepAlive: true });
    // An idle client that loses its connection must not crash the process; the pool replaces it.
    this.#pool.on('error', () => {});
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const result = await this.#pool.query(this.#statement(sql, params)).catch(storeFault);
    return result.rows as T[];
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    const result = await this.#pool.query(this.#statement(sql, params)).catch(storeFault);
    return result.rowCount ?? 0;
  }

  #statement(sql: string, params: readonly unknown[]): pg.QueryConfig {
    return { text: sql, values: params as unknown[], query_timeout: STATEMENT_TIMEOUT_MS } as pg.QueryConfig;
  }

  async withMigrationLock<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    const tx: SqlDriver = {
      dialect: 'postgres',
      query: async <R>(sql: string, params: readonly unknown[] = []) => (await client.query(sql, params as unknown[])).rows as R[],
      run: async (sql, params = []) => (await client.query(sql, params as unknown[])).rowCount ?? 0,
      withMigrationLock: () => Promise.reject(new Error('nested migration lock')),
      close: async () => {},
    };
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
