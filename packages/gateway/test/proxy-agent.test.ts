import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../../agent/test/helpers/agent.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { rawRequest } from './helpers/raw-request.js';
import { mintToken } from './helpers/tokens.js';
import { RecordingWs } from './helpers/ws-client.js';

// The real agent behind the gateway: every endpoint family, streamed.
let agent: TestAgent;
let gw: TestGateway;
let token: string;

beforeAll(async () => {
  agent = await startTestAgent();
  gw = await startTestGateway();
  const port = Number(new URL(agent.url).port);
  gw.routes.set({
    workspaceId: 'ws_real',
    ip: '127.0.0.1',
    port,
    rawToken: agent.token,
    generation: 3,
    enabled: true,
    publicAccess: true,
    running: true,
  });
  token = await mintToken({ wid: 'ws_real', ip: '127.0.0.1', port, gen: 3 });
});

afterAll(async () => {
  await gw.close();
  await agent.close();
});

const auth = () => ({ authorization: `Bearer ${token}` });

async function call(method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(gw.url + pathAndQuery, {
    method,
    headers: { ...auth(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('gateway in front of a real agent', () => {
  it('answers /health itself, with or without a Bearer', async () => {
    for (const headers of [{}, auth(), { authorization: 'Bearer nonsense' }]) {
      const res = await fetch(`${gw.url}/health`, { headers });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
  });

  it('writes and reads a file', async () => {
    const written = await call('POST', '/files/write', { path: 'notes/hello.txt', content: 'line one\nline two\n', create_dirs: true });
    expect(written).toEqual({ status: 201, body: { success: true, path: path.join(agent.workdir, 'notes/hello.txt'), size: 18 } });
    const read = await call('GET', '/files/read?path=notes/hello.txt&start_line=2');
    expect(read.status).toBe(200);
    expect(read.body.content).toBe('line two\n');
  });

  it('passes a bodiless POST with Content-Length: 0 (as the official SDK sends it)', async () => {
    const res = await rawRequest(`${gw.url}/files/search/init`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json', 'content-length': '0' },
    });
    const direct = await rawRequest(`${agent.url}/files/search/init`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json', 'content-length': '0' },
    });
    expect(res.status).toBe(direct.status);
    expect(JSON.parse(res.body)).toEqual(JSON.parse(direct.body));
  });

  it('streams the NDJSON listing of /files/stream, identical to the direct answer', async () => {
    await call('POST', '/files/write', { path: 'tree/a/b.txt', content: 'b', create_dirs: true });
    await call('POST', '/files/write', { path: 'tree/c.txt', content: 'c', create_dirs: true });
    const viaGateway = await fetch(`${gw.url}/files/stream?path=tree&nested=true`, { headers: auth() });
    expect(viaGateway.status).toBe(200);
    expect(viaGateway.headers.get('content-type')).toBe('application/x-ndjson');
    const direct = await agent.request('GET', '/files/stream?path=tree&nested=true');
    const lines = (text: string) =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((o) => !o.event)
        .map((o) => o.path)
        .sort();
    const got = lines(await viaGateway.text());
    expect(got).toEqual(lines(await direct.text()));
    expect(got.length).toBeGreaterThanOrEqual(3);
  });

  it('streams an exec SSE: the first event arrives while the command is still running', async () => {
    const res = await fetch(`${gw.url}/exec/stream`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['sh', '-c', 'echo started; read line; echo "got $line"'] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    if (!res.body) throw new Error('no body');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // The command blocks on stdin: anything received now was relayed while the stream is open.
    while (!text.includes('event: stdout')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    const taskId = /"task_id":"([^"]+)"/.exec(text)?.[1];
    expect(taskId).toBeDefined();
    const task = await call('GET', `/exec/${taskId}`);
    expect(task.body.status).toBe('running');
    const input = await fetch(`${gw.url}/exec/${taskId}/input`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/octet-stream' },
      body: 'hello\n',
    });
    expect(input.status).toBe(200);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const stdout = [...text.matchAll(/event: stdout\ndata: (.*)\n/g)]
      .map((m) => Buffer.from((JSON.parse(m[1] as string) as { data: string }).data, 'base64').toString('utf8'))
      .join('');
    expect(stdout).toBe('started\ngot hello\n');
    expect(text).toMatch(/event: exit\ndata: \{[^\n]*"exit_code":0/);
  });

  it('streams a large upload and download intact', { timeout: 120_000 }, async () => {
    const size = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
    const expected = createHash('sha256');
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= size) return void this.push(null);
        sent += chunk.length;
        expected.update(chunk);
        this.push(chunk);
      },
    });
    const up = await fetch(`${gw.url}/files/upload?path=big.bin`, {
      method: 'PUT',
      headers: { ...auth(), 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(body) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(up.status).toBe(201);
    expect((await stat(path.join(agent.workdir, 'big.bin'))).size).toBe(size);

    const down = await fetch(`${gw.url}/files/download?path=big.bin`, { headers: auth() });
    expect(down.status).toBe(200);
    expect(down.headers.get('content-length')).toBe(String(size));
    const got = createHash('sha256');
    let received = 0;
    if (!down.body) throw new Error('no body');
    for await (const part of down.body as unknown as AsyncIterable<Uint8Array>) {
      got.update(part);
      received += part.length;
    }
    expect(received).toBe(size);
    expect(got.digest('hex')).toBe(expected.digest('hex'));
  });

  it('relays /ws both ways: terminal input goes in, output comes back (token in the query)', async () => {
    const created = await call('POST', '/terminals', { cmd: ['/bin/sh'] });
    expect(created.status).toBe(201);
    const id = Number(created.body.id);
    const ws = await RecordingWs.open(`${gw.url.replace('http', 'ws')}/ws?token=${token}`);
    try {
      ws.socket.send(Buffer.concat([Buffer.of(id), Buffer.from('echo gw-$((6*7))\n')]));
      await ws.waitFor(() => ws.binary.toString('utf8').includes('gw-42'), 'terminal output');
      ws.socket.send(JSON.stringify({ channel: 'terminal', type: 'close', id: String(id) }));
      await ws.waitFor(() => ws.texts.some((m) => m.type === 'exit' && String(m.id) === String(id)), 'exit frame');
    } finally {
      await ws.close();
    }
  });

  it('accepts the WebSocket token as an Authorization header or a bearer.<jwt> subprotocol', async () => {
    const viaHeader = await RecordingWs.open(`${gw.url.replace('http', 'ws')}/ws`, { headers: auth() });
    await viaHeader.close();
    const viaProtocol = await RecordingWs.open(`${gw.url.replace('http', 'ws')}/ws`, { protocols: ['bearer', `bearer.${token}`] });
    expect(viaProtocol.socket.protocol).toBe('bearer');
    await viaProtocol.close();
  });

  it('relays the agent refusing an upgrade on an unknown path (404)', async () => {
    await expect(RecordingWs.open(`${gw.url.replace('http', 'ws')}/nope?token=${token}`)).rejects.toThrow('upgrade refused: 404');
  });
});
