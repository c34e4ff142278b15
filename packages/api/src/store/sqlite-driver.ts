import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { SqlDriver } from './sql-driver.js';

/**
 * better-sqlite3 behind the async `SqlDriver` interface. Calls are
 * synchronous underneath, which is what makes each statement atomic with
 * respect to the rest of the process; WAL lets a gateway process read while
 * the control plane writes.
 */
/**
 * Migration transactions per database file within this process. Another
 * process waits on SQLite's own lock (busy_timeout), but a second connection
 * in the same process would block the event loop the first one needs.
 */
const localLocks = new Map<string, Promise<unknown>>();

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite';
  readonly #db: Database.Database;
  readonly #file: string;
  readonly #statements = new Map<string, { stmt: Database.Statement; order: number[] }>();

  constructor(file: string) {
    this.#file = file === ':memory:' ? `:memory:${Math.random()}` : path.resolve(file);
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('foreign_keys = ON');
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const { stmt, order } = this.#prepare(sql);
    const args = order.map((i) => toSqlite(params[i]));
    if (stmt.reader) return stmt.all(...args) as T[];
    stmt.run(...args);
    return [];
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    const { stmt, order } = this.#prepare(sql);
    return stmt.run(...order.map((i) => toSqlite(params[i]))).changes;
  }

  async withMigrationLock<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    const previous = localLocks.get(this.#file) ?? Promise.resolve();
    const run = previous.then(
      () => this.#migrationTransaction(fn),
      () => this.#migrationTransaction(fn),
    );
    const tail = run.catch(() => {});
    localLocks.set(this.#file, tail);
    try {
      return await run;
    } finally {
      if (localLocks.get(this.#file) === tail) localLocks.delete(this.#file);
    }
  }

  async #migrationTransaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    // BEGIN IMMEDIATE takes the write lock at once: a second process waits (busy_timeout) instead of racing.
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = await fn(this);
      this.#db.exec('COMMIT');
      return result;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  /** Rewrites `$n` placeholders to `?` and remembers which parameter each one takes. */
  #prepare(sql: string): { stmt: Database.Statement; order: number[] } {
    let entry = this.#statements.get(sql);
    if (!entry) {
      const order: number[] = [];
      const text = sql.replace(/\$(\d+)/g, (_m, n: string) => {
        order.push(Number(n) - 1);
        return '?';
      });
      entry = { stmt: this.#db.prepare(text), order };
      // DDL runs once; caching it would hold statements on tables that migrations replace.
      if (/^\s*(select|insert|update|delete)/i.test(sql)) this.#statements.set(sql, entry);
    }
    return entry;
  }
}

function toSqlite(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value;
}
