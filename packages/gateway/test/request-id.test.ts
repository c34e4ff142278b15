import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../../agent/test/helpers/agent.js';
import { INVALID_IDS, requestWithId, UUID, upgradeWithId, VALID_IDS } from '../../http/test/request-ids.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { type RecordingUpstream, startRecordingUpstream } from './helpers/recording-upstream.js';
import { mintToken } from './helpers/tokens.js';

// A real agent (which answers with the id it was given) and a recording one (which shows what was forwarded).
let agent: TestAgent;
let recorder: RecordingUpstream;
let gw: TestGateway;
let agentToken: string;
let recorderToken: string;

beforeAll(async () => {
  agent = await startTestAgent();
  recorder = await startRecordingUpstream();
  gw = await startTestGateway();
  const port = Number(new URL(agent.url).port);
  const route = { generation: 1, enabled: true, publicAccess: true, running: true, ip: '127.0.0.1' };
  gw.routes.set({ ...route, workspaceId: 'ws_agent', port, rawToken: agent.token });
  gw.routes.set({ ...route, workspaceId: 'ws_rec', port: recorder.port, rawToken: 'r'.repeat(32) });
  agentToken = await mintToken({ wid: 'ws_agent', ip: '127.0.0.1', port, gen: 1 });
  recorderToken = await mintToken({ wid: 'ws_rec', ip: '127.0.0.1', port: recorder.port, gen: 1 });
});
afterAll(async () => {
  await gw.close();
  await recorder.close();
  await agent.close();
});

const toAgent = () => ({ authorization: `Bearer ${agentToken}` });
const toRecorder = () => ({ authorization: `Bearer ${recorderToken}` });

/** The `x-request-id` values the recording upstream received on its last request. */
function forwardedIds(): string[] {
  const last = recorder.requests.at(-1);
  const raw = last?.rawHeaders ?? [];
  const ids: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'x-request-id') ids.push(raw[i + 1] as string);
  return ids;
}

describe('x-request-id through the gateway', () => {
  it('echoes a valid id, forwards it to the agent, and answers it once (the agent’s copy is not doubled)', async () => {
    for (const id of VALID_IDS) {
      const res = await requestWithId(`${gw.url}/runtime`, id, { headers: toAgent() });
      expect(res.status, id).toBe(200);
      expect(res.ids, id).toEqual([id]);
      const rec = await requestWithId(`${gw.url}/echo`, id, { headers: toRecorder() });
      expect(rec.ids).toEqual([id]);
      expect(forwardedIds()).toEqual([id]);
    }
  });

  it('makes one when absent, invalid or repeated, and the agent gets that same id', async () => {
    const ids = new Set<string>();
    for (const id of [undefined, ...INVALID_IDS]) {
      const res = await requestWithId(`${gw.url}/echo`, id, { headers: toRecorder() });
      expect(res.status, String(id)).toBe(200);
      expect(res.ids).toHaveLength(1);
      expect(res.ids[0]).toMatch(UUID);
      expect(forwardedIds()).toEqual(res.ids);
      ids.add(res.ids[0] as string);
    }
    expect(ids.size).toBe(INVALID_IDS.length + 1);
    // Sent twice: neither is trusted.
    const twice = await rawExchange(
      `GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${recorderToken}\r\nX-Request-Id: one\r\nX-Request-Id: two\r\nConnection: close\r\n\r\n`,
    );
    expect(twice.ids).toHaveLength(1);
    expect(twice.ids[0]).toMatch(UUID);
    expect(forwardedIds()).toEqual(twice.ids);
  });

  it('is on the gateway’s own answers: health, 401s, upstream failures, CORS-free errors', async () => {
    const cases: Array<[number, string, Record<string, string>]> = [
      [200, '/health', {}],
      [401, '/runtime', {}],
      [401, '/runtime', { authorization: 'Bearer not-a-jwt' }],
      [404, '/no/such/path', toAgent()],
    ];
    for (const [status, route, headers] of cases) {
      const res = await requestWithId(`${gw.url}${route}`, `gw-${status}`, { headers });
      expect(res.status, route).toBe(status);
      expect(res.ids, route).toEqual([`gw-${status}`]);
    }
    // An agent that is not there: the gateway's 503.
    gw.routes.set({ ...gw.routes.routes.get('ws_rec')!, workspaceId: 'ws_gone', port: 1 });
    const gone = await mintToken({ wid: 'ws_gone', ip: '127.0.0.1', port: 1, gen: 1 });
    const down = await requestWithId(`${gw.url}/runtime`, 'gw-503', { headers: { authorization: `Bearer ${gone}` } });
    expect(down.status).toBe(503);
    expect(down.ids).toEqual(['gw-503']);
  });

  it('is on answers to requests it cannot parse', async () => {
    const res = await rawExchange('GET /x HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.ids).toHaveLength(1);
    expect(res.ids[0]).toMatch(UUID);
  });

  it('is in the gateway’s log lines', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const logged = await startTestGateway({ routes: gw.routes, logger: pino({ level: 'debug' }, sink) });
    try {
      await requestWithId(`${logged.url}/runtime`, 'gw-logged', { headers: toAgent() });
      await requestWithId(`${logged.url}/runtime?token=secret`, 'gw-refused');
    } finally {
      await logged.close();
    }
    expect(lines.filter((l) => l.reqId === 'gw-logged').map((l) => l.msg)).toEqual(['request']);
    const refused = lines.find((l) => l.reqId === 'gw-refused');
    expect(refused?.url).toBe('/runtime?token=[REDACTED]');
  });

  it('is on WebSocket answers: refusals, the agent’s refusals relayed, and the 101', async () => {
    const noToken = await upgradeWithId(`${gw.url}/ws`, 'up-401');
    expect(noToken.status).toBe(401);
    expect(noToken.ids).toEqual(['up-401']);
    const foreign = await upgradeWithId(`${gw.url}/ws`, 'up-403', { ...toAgent(), origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.ids).toEqual(['up-403']);
    const relayed = await upgradeWithId(`${gw.url}/nowhere`, 'up-404', toAgent());
    expect(relayed.status).toBe(404);
    expect(relayed.ids).toEqual(['up-404']);
    const accepted = await upgradeWithId(`${gw.url}/ws`, 'up-101', toAgent());
    expect(accepted.status).toBe(101);
    expect(accepted.ids).toEqual(['up-101']);
    await upgradeWithId(`${gw.url}/ws`, 'up-forwarded', toRecorder());
    expect(forwardedIds()).toEqual(['up-forwarded']);
  });
});

/** Sends bytes as they are and reads the answer's status and ids (the connection is closed by either side). */
function rawExchange(request: string): Promise<{ status: number; ids: string[] }> {
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      text += c;
      if (text.includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('close', () => {
      const head = text.split('\r\n\r\n', 1)[0] ?? '';
      const [statusLine = '', ...headers] = head.split('\r\n');
      const ids = headers.filter((h) => h.toLowerCase().startsWith('x-request-id:')).map((h) => h.slice(h.indexOf(':') + 1).trim());
      resolve({ status: Number(statusLine.split(' ')[1]), ids });
    });
    socket.on('error', reject);
  });
}
