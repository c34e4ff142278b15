import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFetch } from '../src/http-fetch.js';

// A real server: echoes requests, streams until the client goes away, or never answers.
let server: http.Server;
let base: string;
const closed: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      const timer = setInterval(() => res.write('data: more\n\n'), 10);
      res.on('close', () => {
        clearInterval(timer);
        closed.push('/stream');
      });
      return;
    }
    if (req.url === '/never') return;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(201, 'Made', { 'content-type': 'application/json', 'x-request-id': 'req_1' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("the CLI's fetch over node:http", () => {
  it('sends the method, headers and a text body; reads status, headers and JSON', async () => {
    const res = await httpFetch(`${base}/echo`, { method: 'POST', headers: { 'x-client-id': 'c1' }, body: '{"a":1}' });
    expect([res.status, res.ok, res.statusText, res.headers.get('X-Request-Id'), res.headers.get('absent')]).toEqual([
      201,
      true,
      'Made',
      'req_1',
      null,
    ]);
    const body = (await res.json()) as { method: string; headers: Record<string, string>; body: string };
    expect(body).toMatchObject({ method: 'POST', body: '{"a":1}', headers: { 'x-client-id': 'c1', 'content-length': '7' } });
  });

  it('sends bytes and web streams (chunked) as bodies', async () => {
    const bytes = await httpFetch(`${base}/echo`, { method: 'PUT', body: new Uint8Array([104, 105]) });
    expect(((await bytes.json()) as { body: string }).body).toBe('hi');
    const stream = Readable.toWeb(Readable.from([Buffer.from('a'), Buffer.from('b')])) as unknown as ReadableStream<Uint8Array>;
    const streamed = await httpFetch(`${base}/echo`, { method: 'PUT', body: stream, duplex: 'half' } as RequestInit);
    const echoed = (await streamed.json()) as { body: string; headers: Record<string, string> };
    expect([echoed.body, echoed.headers['transfer-encoding']]).toEqual(['ab', 'chunked']);
  });

  it('cancelling the body closes the connection, as fetch does', async () => {
    const res = await httpFetch(`${base}/stream`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 1\n\n');
    await reader.cancel();
    await expect.poll(() => closed.includes('/stream')).toBe(true);
  });

  it('an abort before the answer rejects with an AbortError; an unreachable server with a TypeError naming the cause', async () => {
    const controller = new AbortController();
    const pending = httpFetch(`${base}/never`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    const refused = await httpFetch('http://127.0.0.1:9/', {}).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as TypeError & { cause: { code: string } }).cause.code).toBe('ECONNREFUSED');
  });
});
