import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL cluster for tests: `initdb` in a temp directory,
 * `pg_ctl start` on a free loopback port, torn down by `stop()`. As root the
 * server runs as the `postgres` user (PostgreSQL refuses to run as root).
 * Install the server with `bash scripts/system-deps.sh` (Debian `postgresql`).
 */
export interface TestPostgres {
  /** Connection URL of the `postgres` database (superuser, trust auth on loopback). */
  readonly url: string;
  readonly port: number;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (`pg_ctl stop -m fast`: sessions are cut) and keeps its data, for `resume`. */
  halt(): void;
  /** Starts a halted server again on the same port and data. */
  resume(): void;
  /**
   * Stops (SIGSTOP) the server and its sessions without closing anything: a database behind a network that drops
   * packets. Connections are accepted by the kernel and never answered. `thaw` continues them.
   */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const version = versions[0];
  if (!version) throw new Error('PostgreSQL is not installed: run `bash scripts/system-deps.sh` (Debian package postgresql)');
  return path.join(root, version, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function runAsPostgres(command: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const result = asRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { encoding: 'utf8' })
    : spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${path.basename(command)} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`);
  }
}

/** Sends `signal` to the server of `data` (its postmaster, from postmaster.pid) and every process it started. */
function signalServer(data: string, signal: NodeJS.Signals): void {
  const postmaster = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent; the command (field 2) is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(entry));
    } catch {}
  }
  for (const pid of pids) process.kill(pid, signal);
}

let counter = 0;

export async function startPostgres(): Promise<TestPostgres> {
  const bin = binDir();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  runAsPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
  let port = 0;
  let started = false;
  const start = () =>
    runAsPostgres(path.join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      path.join(dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`,
      'start',
    ]);
  // A port found free can be taken before the server binds it; try again on another.
  for (let attempt = 0; attempt < 5 && !started; attempt++) {
    port = await freePort();
    try {
      start();
      started = true;
    } catch (err) {
      if (attempt === 4) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    async createDatabase(name = `cove_test_${process.pid}_${++counter}`) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '')}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    halt() {
      runAsPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    resume() {
      start();
    },
    freeze() {
      signalServer(data, 'SIGSTOP');
    },
    thaw() {
      signalServer(data, 'SIGCONT');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        runAsPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
