import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startRelay, startUpstream } from './helpers.js';

// A wire sharing its connections with a node:http server: requests under /wire stay on the wire (relayed to an
// upstream), anything else hands the connection to node:http at that request's head, for good.

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let relay: Awaited<ReturnType<typeof startRelay>>;
let node: http.Server;
const nodeSaw: Array<{ url: string; rawHeaders: string[]; body: string }> = [];

beforeAll(async () => {
  upstream = await startUpstream();
  node = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    nodeSaw.push({ url: req.url ?? '', rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString('latin1') });
    res.setHeader('x-served-by', 'node');
    res.end(`node ${req.url}`);
  });
  node.on('upgrade', (req, socket, head) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Url: ${req.url}\r\n\r\n`);
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  const accept = node.listeners('connection') as Array<(socket: unknown) => void>;
  relay = await startRelay(upstream.port, {
    handOff: {
      keeps: (request, upgrade) => !upgrade && request.url.startsWith('/wire'),
      take: (socket) => {
        for (const listener of accept) listener.call(node, socket);
      },
    },
  });
});

afterAll(async () => {
  // The connections handed over are node's to close.
  node.closeAllConnections();
  await relay.close();
  await upstream.close();
});

const count = (text: string, what: RegExp) => (text.match(what) ?? []).length;

describe('handing a connection over', () => {
  it('serves a connection whose first request is not the wire’s with the other server', async () => {
    const client = await RawClient.connect(relay.port);
    client.send('GET /api?x=1 HTTP/1.1\r\nHost: h\r\nX-Case: Kept\r\n\r\n');
    const text = await client.until((t) => t.endsWith('node /api?x=1'));
    expect(text).toContain('x-served-by: node');
    expect(nodeSaw.at(-1)?.rawHeaders).toEqual(['Host', 'h', 'X-Case', 'Kept']);
    // The connection is node's for good: a request for the wire is node's too.
    client.send('GET /wire/after HTTP/1.1\r\nHost: h\r\n\r\n');
    await client.until((t) => t.endsWith('node /wire/after'));
    client.close();
  });

  it('answers pipelined requests in order across the hand-over, bodies included', async () => {
    const client = await RawClient.connect(relay.port);
    const body = 'b'.repeat(3000);
    client.send(
      'GET /wire/one HTTP/1.1\r\nHost: h\r\n\r\n' +
        'POST /wire/two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc' +
        `POST /node/three HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        'GET /node/four HTTP/1.1\r\nHost: h\r\n\r\n',
    );
    const text = await client.until((t) => count(t, /HTTP\/1\.1 200/g) === 4 && t.endsWith('node /node/four'));
    const order = [...text.matchAll(/"url":"([^"]+)"|node (\/node\/[a-z]+)/g)].map((m) => m[1] ?? m[2]);
    expect(order).toEqual(['/wire/one', '/wire/two', '/node/three', '/node/four']);
    expect(nodeSaw.find((s) => s.url === '/node/three')?.body).toBe(body);
    client.close();
  });

  it('hands over a head split across reads, and one with more than 32 headers', async () => {
    const client = await RawClient.connect(relay.port);
    let many = '';
    for (let i = 0; i < 40; i++) many += `X-H${i}:  v${i} \r\n`;
    const request = `GET /node/many HTTP/1.1\r\nHost: h\r\n${many}\r\n`;
    client.send(request.slice(0, 50));
    await new Promise((r) => setTimeout(r, 30));
    client.send(request.slice(50));
    await client.until((t) => t.endsWith('node /node/many'));
    const seen = nodeSaw.find((s) => s.url === '/node/many');
    expect(seen?.rawHeaders.length).toBe(82);
    expect(seen?.rawHeaders.slice(-2)).toEqual(['X-H39', 'v39']);
    client.close();
  });

  it('hands over an upgrade with the bytes that followed its head', async () => {
    const client = await RawClient.connect(relay.port);
    client.send('GET /wire/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly bytes');
    await client.until((t) => t.endsWith('early bytes'));
    expect(client.text).toContain('X-Url: /wire/ws');
    client.send(' and more');
    await client.until((t) => t.endsWith('early bytes and more'));
    client.close();
  });

  it('lets the other server answer a request too large for both', async () => {
    const client = await RawClient.connect(relay.port);
    client.send(`GET /x HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    const text = await client.until((t) => t.includes('\r\n\r\n') && client.socket.readableEnded, 5_000).catch(() => client.text);
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    client.close();
  });
});

describe('node:http address', () => {
  it('is not listening on its own', () => {
    expect(node.address() as AddressInfo | null).toBeNull();
  });
});
