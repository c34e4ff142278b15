// PostgreSQL restarted under traffic, unreachable for 10 s: the real `cove api` and `cove gateway` (processes, on
// one PostgreSQL cluster) answer 503 `store_unavailable` while it is gone — every request ends, none hangs — and
// serve again once it is back, without a restart; a lifecycle deadline that came during the outage is carried out
// afterwards, and neither process dies.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COVE_BIN } from './helpers/control-plane.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field
type Json = any;

interface Served {
  child: ChildProcess;
  url: string;
  log(): string;
}

const children: ChildProcess[] = [];
let pg: TestPostgres;
let dataDir = '';
let databaseUrl = '';
const dataDirs: string[] = [];

function env(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: dataDir, COVE_LOG_LEVEL: 'warn', COVE_DATABASE_URL: databaseUrl };
}

/** Starts `cove <args>` and resolves when it prints its ready line. */
function serve(args: string[], ready: RegExp): Promise<Served> {
  const child = spawn(process.execPath, [COVE_BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m?.[1]) resolve({ child, url: m[1], log: () => err });
    });
    child.on('exit', (code) => reject(new Error(`cove ${args[0]} exited (${code}): ${err.slice(-2000)}`)));
  });
}

/** One request's outcome: its status and error code, or `hung` when it had no answer within a minute. */
interface Outcome {
  status: number | 'hung' | 'refused';
  code?: string;
}

async function call(url: string, init: RequestInit): Promise<Outcome> {
  try {
    // A minute is far beyond any bound Cove sets (5 s to connect to the database): reaching it means a hang.
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { code?: string }).code;
    } catch {}
    return { status: res.status, ...(code ? { code } : {}) };
  } catch (err) {
    return { status: (err as Error).name === 'TimeoutError' ? 'hung' : 'refused' };
  }
}

describe('PostgreSQL restarted and unreachable under traffic', () => {
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    try {
      pg?.thaw();
    } catch {}
    await pg?.stop();
    for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  /** The outage, by its kind: the server restarted (sessions cut, nothing listening) or its packets dropped. */
  const outages = {
    restarted: { begin: () => pg.halt(), end: () => pg.resume() },
    'unreachable (nothing answers)': { begin: () => pg.freeze(), end: () => pg.thaw() },
  };

  it.each(Object.keys(outages))(
    '%s: 503 store_unavailable while it is gone, no hang, all works again after',
    { timeout: 240_000 },
    async (kind) => {
      const outage = outages[kind as keyof typeof outages];
      // Each outage on its own database and data directory.
      databaseUrl = await pg.createDatabase();
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'cove-faults-pg-'));
      dataDirs.push(dataDir);
      const store = ['--store', 'postgres'];
      const created = JSON.parse(
        execFileSync(process.execPath, [COVE_BIN, 'api', 'credentials', 'create', ...store, '--owner', 'alice', '--json'], {
          env: env(),
          encoding: 'utf8',
        }),
      );
      const api = await serve(
        ['api', ...store, '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--driver', 'process'],
        /cove api ready on (http:\/\/\S+) /,
      );
      const gateway = await serve(['gateway', ...store, '--listen', '127.0.0.1:0'], /cove gateway ready on (http:\/\/\S+) /);
      const headers = { 'x-client-id': created.client_id, 'x-client-secret': created.client_secret, 'content-type': 'application/json' };
      const json = async (method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> => {
        const res = await fetch(`${api.url}${route}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
        return { status: res.status, body: await res.json() };
      };

      const made = await json('POST', '/workspace', { name: 'steady' });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const id: string = made.body.workspace.id;
      expect((await json('POST', `/workspace/${id}/network`, { public_access: true })).status).toBe(200);
      const access = await json('POST', `/workspace/${id}/internal-api-access/enable`);
      expect(access.status).toBe(200);
      const token: string = access.body.token;

      // Traffic: reads and writes on the control plane, commands through the gateway, each loop one request at a time.
      const outcomes = { api: [] as Outcome[], gateway: [] as Outcome[] };
      let phase: 'before' | 'outage' | 'after' = 'before';
      const during = { api: [] as Outcome[], gateway: [] as Outcome[] };
      let running = true;
      const loop = async (kind: 'api' | 'gateway', request: (n: number) => Promise<Outcome>) => {
        for (let n = 0; running; n++) {
          const outcome = await request(n);
          outcomes[kind].push(outcome);
          if (phase === 'outage') during[kind].push(outcome);
          await sleep(20);
        }
      };
      const loops = [
        loop('api', (n) =>
          n % 2 === 0
            ? call(`${api.url}/workspace/${id}`, { headers })
            : call(`${api.url}/workspace/${id}`, { method: 'PUT', headers, body: JSON.stringify({ name: `steady-${n}` }) }),
        ),
        loop('gateway', () =>
          call(`${gateway.url}/exec`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ cmd: ['echo', 'ok'] }),
          }),
        ),
      ];

      const until = async (what: string, check: () => boolean) => {
        const deadline = Date.now() + 120_000;
        while (!check()) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await sleep(50);
        }
      };
      await until('traffic served', () => outcomes.api.some((o) => o.status === 200) && outcomes.gateway.some((o) => o.status === 200));

      // A workspace whose TTL comes due while the database is gone (4 s into the 10 s outage that starts now): the
      // scheduler's read fails, and it must try again.
      const doomed = await json('POST', '/workspace', { name: 'ttl', ttl: 4, ttl_action: 'stop' });
      expect(doomed.status, JSON.stringify(doomed.body)).toBe(201);
      const doomedId: string = doomed.body.workspace.id;

      // The restart: sessions are cut, then nothing listens for 10 s.
      phase = 'outage';
      outage.begin();
      await sleep(10_000);
      // Both sides told their callers while it was gone (and kept serving: they answered).
      await until('answers during the outage', () => during.api.length > 0 && during.gateway.length > 0);
      outage.end();
      phase = 'after';
      const ok = (o: Outcome) => o.status === 200;
      const marks = { api: outcomes.api.length, gateway: outcomes.gateway.length };
      await until('traffic served again', () => outcomes.api.slice(marks.api).some(ok) && outcomes.gateway.slice(marks.gateway).some(ok));
      running = false;
      await Promise.all(loops);

      for (const kind of ['api', 'gateway'] as const) {
        const failed = during[kind].filter((o) => !ok(o));
        expect(failed.length, `${kind}: no request failed during the outage`).toBeGreaterThan(0);
        // Every failure while it was gone is the documented one: no hang, no 500, no refused connection.
        for (const o of failed) expect(o, kind).toEqual({ status: 503, code: 'store_unavailable' });
      }
      expect(api.child.exitCode, api.log()).toBeNull();
      expect(gateway.child.exitCode, gateway.log()).toBeNull();

      // Everything works again without a restart: reads, writes, a create, and the gateway.
      const after = await json('GET', `/workspace/${id}`);
      expect(after.status).toBe(200);
      expect(after.body.name ?? after.body.workspace?.name).toMatch(/^steady/);
      const again = await json('POST', '/workspace', { name: 'after' });
      expect(again.status, JSON.stringify(again.body)).toBe(201);
      const exec = await call(`${gateway.url}/exec`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ cmd: ['echo', 'ok'] }),
      });
      expect(exec.status).toBe(200);
      // The TTL that came due while the store was gone is carried out by the scheduler's retry.
      const deadline = Date.now() + 60_000;
      let status = '';
      while (Date.now() < deadline) {
        const ws = await json('GET', `/workspace/${doomedId}`);
        status = ws.body.status ?? ws.body.workspace?.status;
        if (status === 'stopped') break;
        await sleep(200);
      }
      expect(status).toBe('stopped');
      expect(api.log()).toMatch(/lifecycle step failed; trying again/);
      for (const c of [api.child, gateway.child]) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await exited;
      }
    },
  );
});
