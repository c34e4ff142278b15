import { randomBytes } from 'node:crypto';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type Agent, createAgent } from '@cove/agent';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVALID_IDS, requestWithId, UUID, upgradeWithId, VALID_IDS } from '../../../http/test/request-ids.js';

// An agent whose log lines are kept, to see that each one carries the request's id.
const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
    done();
  },
});
const token = randomBytes(16).toString('hex');
let agent: Agent;
let url: string;
let workdir: string;

beforeAll(async () => {
  workdir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'cove-reqid-')));
  agent = await createAgent({ token: { kind: 'env', value: token }, workdir, logger: pino({ level: 'debug' }, sink) });
  url = await agent.listen('127.0.0.1', 0);
});
afterAll(async () => {
  await agent.close();
  await rm(workdir, { recursive: true, force: true });
});

const auth = () => ({ authorization: `Bearer ${token}` });

describe('x-request-id on the agent', () => {
  it('echoes a valid id', async () => {
    for (const id of VALID_IDS) {
      const res = await requestWithId(`${url}/runtime`, id, { headers: auth() });
      expect(res.status, id).toBe(200);
      expect(res.ids, id).toEqual([id]);
    }
  });

  it('makes one when absent or invalid (too long, empty, space, control character, non-ASCII)', async () => {
    const seen = new Set<string>();
    for (const id of [undefined, ...INVALID_IDS]) {
      const res = await requestWithId(`${url}/runtime`, id, { headers: auth() });
      expect(res.status, String(id)).toBe(200);
      expect(res.ids).toHaveLength(1);
      expect(res.ids[0]).toMatch(UUID);
      seen.add(res.ids[0] as string);
    }
    expect(seen.size).toBe(INVALID_IDS.length + 1);
  });

  it('is on errors: 401, 404, 405, 400 (validation and malformed JSON), and a 409', async () => {
    const json = { 'content-type': 'application/json' };
    const cases: Array<[number, string, Parameters<typeof requestWithId>[2]]> = [
      [401, '/runtime', {}],
      [404, '/no/such/path', { headers: auth() }],
      [405, '/runtime', { method: 'DELETE', headers: auth() }],
      [400, '/files/write', { method: 'POST', headers: { ...auth(), ...json }, body: '{"path":"x","content":1}' }],
      [400, '/files/write', { method: 'POST', headers: { ...auth(), ...json }, body: '{"path":' }],
      [404, '/exec/nope', { headers: auth() }],
    ];
    for (const [status, route, options] of cases) {
      const res = await requestWithId(`${url}${route}`, `err-${status}`, options);
      expect(res.status, route).toBe(status);
      expect(res.ids, route).toEqual([`err-${status}`]);
      expect(JSON.parse(res.body)).toMatchObject({ success: false });
    }
  });

  it('is on streams written by hand (SSE) and on WebSocket answers, refusals included', async () => {
    const sse = await requestWithId(`${url}/exec/stream`, 'sse-1', {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: '{"cmd":["true"]}',
    });
    expect(sse.status).toBe(200);
    expect(sse.ids).toEqual(['sse-1']);
    expect((await upgradeWithId(`${url}/ws`, 'ws-401')).ids).toEqual(['ws-401']);
    const missing = await upgradeWithId(`${url}/nowhere`, 'ws-404', auth());
    expect(missing.status).toBe(404);
    expect(missing.ids).toEqual(['ws-404']);
    const foreign = await upgradeWithId(`${url}/ws`, undefined, { ...auth(), origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.ids[0]).toMatch(UUID);
    const accepted = await upgradeWithId(`${url}/ws`, 'ws-101', auth());
    expect(accepted.status).toBe(101);
    expect(accepted.ids).toEqual(['ws-101']);
  });

  it('is on the answer to a request that cannot be parsed, with the usual error body', async () => {
    const { port } = new URL(url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('GET /runtime HTTP/1.1\r\nBad Header\r\n\r\n'));
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => {
        text += c;
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    const id = head.split('\r\n').find((l) => l.toLowerCase().startsWith('x-request-id:'));
    expect(id?.slice('x-request-id:'.length).trim()).toMatch(UUID);
    expect(JSON.parse(body)).toMatchObject({ success: false, code: 'bad_request' });
  });

  it('is in the log lines of the request', async () => {
    await requestWithId(`${url}/no/such/path`, 'logged-id-1', { headers: auth() });
    const mine = lines.filter((l) => l.reqId === 'logged-id-1');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.some((l) => l.msg === 'request')).toBe(true);
  });
});
